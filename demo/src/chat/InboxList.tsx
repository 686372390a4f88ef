// The conversation list: most recent first, with the last message and how many you have not read.

import type { InboxEntry } from '../../../client/src/index.ts';
import { listTime } from '../format.ts';
import { conversationHref } from '../route.ts';
import { Avatar } from '../ui/Avatar.tsx';
import { conversationName } from './types.ts';

function preview(entry: InboxEntry, myId: string): string {
  const last = entry.last_message;
  if (!last) return entry.kind === 'group' ? 'New group' : 'Say hello';
  const text = last.deleted ? 'Message deleted' : (last.preview ?? '');
  return last.sender_id === myId ? `You: ${text}` : text;
}

export function InboxList({
  entries,
  myId,
  openId,
}: {
  entries: readonly InboxEntry[];
  myId: string;
  openId: string | null;
}) {
  if (entries.length === 0) {
    return <p className="empty">No conversations yet. Start one with “New message”.</p>;
  }
  return (
    <ul className="inbox" aria-label="Conversation list">
      {entries.map((entry) => {
        const name = conversationName(entry);
        const unread = entry.unread_count;
        return (
          <li key={entry.conversation_id} className={`inbox-item${unread > 0 ? ' unread' : ''}`}>
            <a
              href={conversationHref(entry.conversation_id)}
              aria-current={entry.conversation_id === openId ? 'page' : undefined}
              aria-label={`${name}${unread > 0 ? `, ${unread} unread` : ''}`}
            >
              <Avatar id={entry.peer?.id ?? entry.conversation_id} name={name} />
              <span className="inbox-text">
                <span className="inbox-top">
                  <span className="inbox-title">{name}</span>
                  {entry.last_message_at && (
                    <time className="inbox-time" dateTime={entry.last_message_at}>
                      {listTime(entry.last_message_at)}
                    </time>
                  )}
                </span>
                <span className="inbox-bottom">
                  <span className="inbox-preview">{preview(entry, myId)}</span>
                  {unread > 0 && (
                    <span className="badge" aria-hidden="true">
                      {unread > 99 ? '99+' : unread}
                    </span>
                  )}
                </span>
              </span>
            </a>
          </li>
        );
      })}
    </ul>
  );
}
