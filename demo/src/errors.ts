// What went wrong, said the way a person wants to hear it. The backend answers
// every error as {code, message, details, hint}; the codes are in docs/data-model.md.

export interface ApiError {
  code?: string;
  message: string;
  status?: number;
  details?: unknown;
  /** From Retry-After, as the client library gives it. */
  retryAfterMs?: number;
}

const AUTH_MESSAGES: Record<string, string> = {
  invalid_credentials: 'That email and password do not match an account.',
  user_already_exists: 'There is already an account with this email. Sign in instead.',
  email_exists: 'There is already an account with this email. Sign in instead.',
  weak_password: 'Choose a longer password (at least 6 characters).',
  signup_disabled: 'New accounts cannot be created on this server.',
  anonymous_provider_disabled: 'Guest accounts are turned off on this server.',
};

export function describeAuthError(error: { code?: string; message: string }): string {
  return (error.code && AUTH_MESSAGES[error.code]) || error.message;
}

/** One field of `details`, which PostgREST carries as the JSON text of an object. */
function detail(error: ApiError, key: string): unknown {
  let details = error.details;
  if (typeof details === 'string') {
    try {
      details = JSON.parse(details);
    } catch {
      return undefined;
    }
  }
  return typeof details === 'object' && details !== null
    ? (details as Record<string, unknown>)[key]
    : undefined;
}

/** Seconds to wait before trying again, for a 429. */
export function retryAfterSeconds(error: ApiError): number | undefined {
  const seconds =
    error.retryAfterMs !== undefined
      ? error.retryAfterMs / 1000
      : Number(detail(error, 'retry_after_seconds'));
  return Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : undefined;
}

export function describeError(error: ApiError): string {
  switch (error.code) {
    case 'rate_limited': {
      const seconds = retryAfterSeconds(error);
      return seconds
        ? `You're going a bit fast. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`
        : "You're going a bit fast. Try again in a moment.";
    }
    case 'body_too_long':
      return 'That message is too long: keep it under 4,000 characters.';
    case 'invalid_body':
      return 'A message needs some text.';
    case 'invalid_title':
      return 'A group name needs 1 to 100 characters.';
    case 'invalid_display_name':
      return 'A name needs 1 to 64 characters.';
    case 'invalid_emoji':
      return 'That reaction is not a single emoji.';
    case 'too_many_reactions':
      return 'This message already has as many different reactions as it can hold.';
    case 'message_deleted':
      return 'That message was deleted.';
    case 'not_a_member':
      return 'You are no longer a member of this conversation.';
    case 'blocked':
      return 'You cannot message this person.';
    case 'not_allowed':
      return 'Only the group owner or an admin can do that.';
    case 'too_many_members':
      return 'A group can have at most 1,000 members (add up to 100 at a time).';
    case 'conversation_not_found':
      return 'This conversation no longer exists.';
    case 'reply_to_not_found':
      return 'The message you replied to is gone.';
    case 'not_authenticated':
      return 'Your session has ended. Sign in again.';
    default:
      return error.message || 'Something went wrong. Try again.';
  }
}

/** Why a send is still waiting, while the client library keeps trying it. */
export function describeWait(error: ApiError): string {
  if (error.code === 'rate_limited') return 'Sending in a moment: you are sending quickly.';
  if (!error.status) return 'Waiting for the connection…';
  return 'Trying again…';
}
