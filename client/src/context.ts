// What a conversation needs from the client that opened it.

import type { Clock } from './clock.ts';
import type { Connection } from './connection.ts';
import type { ReceiptReporter } from './receipts.ts';
import type { ChatTransport } from './transport.ts';

export interface ChatContext {
  transport: ChatTransport;
  clock: Clock;
  random: () => number;
  userId: string;
  pageSize: number;
  /** How often an open conversation asks for changes even when nothing rang. */
  resyncEveryMs: number;
  connection: Connection;
  receiptsFor(conversationId: string): ReceiptReporter;
  /** False while the page is hidden (then nothing is marked read). */
  isForeground(): boolean;
  /** One of your sends is stored (seen on the topic or in a sync): the outbox may let go of it. */
  onOwnStored(clientId: string): void;
  /** You read up to `seq` here: clear the badge at once. */
  onLocalRead(conversationId: string, seq: number): void;
}
