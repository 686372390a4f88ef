// A problem to tell the person about, announced by screen readers as it appears.

export function Alert({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div className="alert" role="alert">
      {message}
    </div>
  );
}
