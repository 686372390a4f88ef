// A chat client on the model server and a fake clock, for unit tests.

import { type ChatClient, type ChatOptions, createChat } from '../../src/chat.ts';
import { memoryStorage } from '../../src/outbox-storage.ts';
import { singleTab } from '../../src/tabs.ts';
import { FakeClock, settle } from './fake-clock.ts';
import { ModelServer, type ModelTransport } from './model-server.ts';

export interface ModelClient {
  chat: ChatClient;
  transport: ModelTransport;
}

export function modelWorld() {
  const server = new ModelServer();
  const clock = new FakeClock();
  const clients: ChatClient[] = [];
  const client = async (userId: string, options: ChatOptions = {}): Promise<ModelClient> => {
    const transport = server.transport(userId);
    const chat = createChat(null, {
      transport,
      clock,
      random: () => 0.5,
      storage: memoryStorage(),
      tabs: singleTab(),
      ...options,
    });
    clients.push(chat);
    await chat.ready;
    await settle();
    return { chat, transport };
  };
  const closeAll = () => {
    for (const chat of clients) chat.close();
  };
  return { server, clock, client, closeAll };
}

/** seq and body of each stored message in a snapshot: what a person sees, compactly. */
export function bodies(messages: readonly { seq: number | null; body: string; status: string }[]): string[] {
  return messages.map((m) => `${m.seq ?? '-'}:${m.body}${m.status === 'sent' ? '' : ` (${m.status})`}`);
}
