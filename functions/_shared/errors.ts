// One error envelope for every function, shaped like PostgREST's:
// {code, message, details, hint}, sent with the matching HTTP status.

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
    return Response.json(
      { code: this.code, message: this.message, details: this.details, hint: this.hint },
      { status: this.status, headers: { ...extraHeaders, ...this.headers } },
    );
  }
}
