// Small helpers on the client library's shapes.

import type { InboxEntry } from '../../../client/src/index.ts';

export const conversationName = (entry: Pick<InboxEntry, 'kind' | 'title' | 'peer'>) =>
  entry.kind === 'direct' ? (entry.peer?.display_name ?? 'Direct message') : (entry.title ?? 'Group');
