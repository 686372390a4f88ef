// A person's initials on a colour of their own (from their id), with a presence dot.

const PALETTE = ['#2f80ed', '#9b51e0', '#eb5757', '#f2994a', '#27ae60', '#219ebc', '#d6336c', '#6c757d'];

function colourOf(id: string): string {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length] as string;
}

export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]] : [name.trim()];
  return letters
    .map((word) => [...(word ?? '')].slice(0, words.length > 1 ? 1 : 2).join(''))
    .join('')
    .toUpperCase();
}

export function Avatar({
  id,
  name,
  online,
  small,
}: {
  id: string;
  name: string;
  online?: boolean;
  small?: boolean;
}) {
  return (
    <span
      className={`avatar${small ? ' small' : ''}`}
      style={{ background: colourOf(id) }}
      aria-hidden="true"
    >
      {initials(name) || '?'}
      {online && <span className="presence-dot" />}
    </span>
  );
}
