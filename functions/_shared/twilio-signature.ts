// Twilio's request signature (X-Twilio-Signature), as Twilio documents it:
// take the full URL Twilio requested, append every POST parameter as
// name + value with the names sorted, HMAC-SHA1 it with the account's auth
// token, and base64-encode the digest.

const encoder = new TextEncoder();

/** The string Twilio signs for a form-encoded POST to `url`. */
export function signedPayload(url: string, params: URLSearchParams): string {
  const names = [...new Set(params.keys())].sort();
  let payload = url;
  for (const name of names) {
    for (const value of params.getAll(name).sort()) payload += name + value;
  }
  return payload;
}

export async function computeSignature(
  authToken: string,
  url: string,
  params: URLSearchParams,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(authToken),
    { name: 'HMAC', hash: 'SHA-1' },
    false,
    ['sign'],
  );
  const digest = await crypto.subtle.sign('HMAC', key, encoder.encode(signedPayload(url, params)));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** Compares in time independent of where the strings differ. */
function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  let difference = left.length ^ right.length;
  for (let i = 0; i < Math.max(left.length, right.length); i++)
    difference |= (left[i] ?? 0) ^ (right[i] ?? 0);
  return difference === 0;
}

/**
 * Whether `signature` is Twilio's for this request. Twilio may have signed the
 * URL with or without an explicit default port, so both forms are accepted.
 */
export async function isValidSignature(
  authToken: string,
  signature: string | null,
  url: string,
  params: URLSearchParams,
): Promise<boolean> {
  if (!signature || !authToken) return false;
  for (const candidate of urlVariants(url)) {
    if (constantTimeEqual(await computeSignature(authToken, candidate, params), signature)) return true;
  }
  return false;
}

function urlVariants(url: string): string[] {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol === 'https:' ? '443' : '80';
  const withoutPort = new URL(url);
  withoutPort.port = '';
  const withPort = `${parsed.protocol}//${parsed.hostname}:${parsed.port || defaultPort}${parsed.pathname}${parsed.search}`;
  return [...new Set([url, withoutPort.toString(), withPort])];
}
