// One error envelope for every function, shaped like PostgREST's:
// {code, message, details, hint}, sent with the matching HTTP status. As through
// PostgREST, details and hint are text or null: structured details go out as the
// JSON text of their object (the database's errors arrive that way already).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly hint: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    const details =
      this.details === null || typeof this.details === 'string' ? this.details : JSON.stringify(this.details);
    return Response.json(
      { code: this.code, message: this.message, details, hint: this.hint },
      { status: this.status, headers: { ...extraHeaders, ...this.headers } },
    );
  }
}
