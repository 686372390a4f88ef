// One error type for everything the library reports: the backend's envelope
// {code, message, details, hint} with its HTTP status, plus what a retry needs.

export interface ChatErrorShape {
  /** HTTP status (0 when the request never got an answer: offline, timed out, socket lost). */
  status: number;
  /** Machine-readable: the backend's code (`rate_limited`, `not_a_member`, …) or the library's own. */
  code: string;
  message: string;
  details?: unknown;
  hint?: string | null;
  /** From `Retry-After` (or `details.retry_after_seconds`), in milliseconds. */
  retryAfterMs?: number;
}

export class ChatError extends Error implements ChatErrorShape {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly hint: string | null;
  readonly retryAfterMs: number | undefined;

  constructor(shape: ChatErrorShape) {
    super(shape.message);
    this.name = 'ChatError';
    this.status = shape.status;
    this.code = shape.code;
    this.details = shape.details ?? null;
    this.hint = shape.hint ?? null;
    this.retryAfterMs = shape.retryAfterMs;
  }

  /** Worth trying again unchanged: no answer, a timeout, too many requests, or a server fault. */
  get retryable(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }

  toJSON(): ChatErrorShape {
    const { status, code, message, details, hint, retryAfterMs } = this;
    return { status, code, message, details, hint, retryAfterMs };
  }

  static from(value: unknown): ChatError {
    if (value instanceof ChatError) return value;
    if (isShape(value)) return new ChatError(value);
    const message = value instanceof Error ? value.message : String(value);
    return new ChatError({ status: 0, code: 'network_error', message });
  }
}

function isShape(value: unknown): value is ChatErrorShape {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ChatErrorShape).status === 'number' &&
    typeof (value as ChatErrorShape).code === 'string' &&
    typeof (value as ChatErrorShape).message === 'string'
  );
}
