// CORS for browser callers; Edge Functions answer their own preflight requests.

export const corsHeaders: Record<string, string> = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'POST, GET, OPTIONS',
  'access-control-allow-headers': 'authorization, x-client-info, apikey, content-type, x-request-id',
  'access-control-expose-headers': 'retry-after, x-request-id',
  'access-control-max-age': '3600',
};
