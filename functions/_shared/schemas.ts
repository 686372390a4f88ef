// The SQL functions the chat functions call, with their arguments as the
// database declares them (name → type) and which of them have defaults. A
// function's body names these arguments, as supabase.rpc() would; Postgres
// converts each JSON value to its type exactly as PostgREST has it convert
// them (see callRpc in db.ts).

export interface RpcSignature {
  name: string;
  arguments: Record<string, string>;
  /** Arguments with a default in SQL; the others are passed as null when absent, for the SQL to refuse. */
  optional: string[];
}

export const sendMessage: RpcSignature = {
  name: 'send_message',
  arguments: {
    conversation_id: 'uuid',
    client_id: 'text',
    body: 'text',
    reply_to: 'uuid',
    metadata: 'jsonb',
  },
  optional: ['reply_to', 'metadata'],
};

export const markRead: RpcSignature = {
  name: 'mark_read',
  arguments: { conversation_id: 'uuid', seq: 'bigint' },
  optional: [],
};

export const sendSignal: RpcSignature = {
  name: 'send_signal',
  arguments: { conversation_id: 'uuid', to_user: 'uuid', signal_type: 'text', payload: 'jsonb' },
  optional: ['payload'],
};
