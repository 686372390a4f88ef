// The messages of a conversation, oldest at the top. Scrolling near the top
// asks for the page before; new messages keep you at the bottom if you were
// there; an older page arriving keeps what you were reading in place.

import { useLayoutEffect, useRef } from 'react';
import { type ChatMessage, type Member, receiptsOf } from '../../../client/src/index.ts';
import { dayLabel, listNames, sameDay } from '../format.ts';
import { type MessageActions, MessageItem, type Receipt } from './MessageItem.tsx';

const NEAR_TOP_PX = 160;
const NEAR_BOTTOM_PX = 80;

export const messageKey = (message: ChatMessage) => message.client_id ?? message.id ?? String(message.seq);

/** How far your message got with everyone else: sent, delivered to all, read by all. */
function receiptOf(message: ChatMessage, members: readonly Member[], others: number): Receipt | null {
  if (message.status !== 'sent' || message.seq === null) return null;
  const { deliveredTo, seenBy } = receiptsOf({ members }, message);
  if (others > 0 && seenBy.length === others) return 'read';
  if (others > 0 && deliveredTo.length === others) return 'delivered';
  return 'sent';
}

export function Timeline({
  messages,
  members,
  myId,
  isGroup,
  hasOlder,
  loadingOlder,
  onLoadOlder,
  nameOf,
  actions,
}: {
  messages: readonly ChatMessage[];
  members: readonly Member[];
  myId: string;
  isGroup: boolean;
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  nameOf: (userId: string | null, message?: ChatMessage) => string;
  actions: MessageActions;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const previous = useRef<{ first?: string; last?: string; height: number; atBottom: boolean }>({
    height: 0,
    atBottom: true,
  });

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const first = messages[0] && messageKey(messages[0]);
    const last = messages.at(-1) && messageKey(messages.at(-1) as ChatMessage);
    const before = previous.current;
    if (before.first !== undefined && first !== before.first && last === before.last) {
      element.scrollTop += element.scrollHeight - before.height; // an older page came in above
    } else if (before.atBottom || (last !== before.last && messages.at(-1)?.sender_id === myId)) {
      element.scrollTop = element.scrollHeight;
    }
    previous.current = { first, last, height: element.scrollHeight, atBottom: isAtBottom(element) };
  });

  const isAtBottom = (element: HTMLElement) =>
    element.scrollHeight - element.scrollTop - element.clientHeight < NEAR_BOTTOM_PX;

  const onScroll = () => {
    const element = scroller.current;
    if (!element) return;
    previous.current.atBottom = isAtBottom(element);
    if (element.scrollTop < NEAR_TOP_PX && hasOlder && !loadingOlder) onLoadOlder();
  };

  const others = members.filter((member) => member.user_id !== myId).length;
  const byId = new Map(messages.filter((m) => m.id).map((m) => [m.id as string, m]));
  const lastMine = messages.findLast((m) => m.sender_id === myId && m.status === 'sent' && m.seq !== null);
  const seenBy = lastMine
    ? receiptsOf({ members }, lastMine).seenBy.map((member) => member.display_name)
    : [];

  return (
    <div className="timeline" ref={scroller} onScroll={onScroll}>
      <ol className="timeline-inner" aria-label="Messages" aria-busy={loadingOlder}>
        <li className="history-edge" aria-live="polite">
          {loadingOlder
            ? 'Loading earlier messages…'
            : hasOlder
              ? 'Scroll up for earlier messages'
              : 'The beginning of the conversation'}
        </li>
        {messages.map((message, index) => {
          const before = messages[index - 1];
          const newDay = !before || !sameDay(before.created_at, message.created_at);
          const key = messageKey(message);
          if (message.kind === 'system') {
            return (
              <li key={key} className="system-line">
                {message.body}
              </li>
            );
          }
          const replied = message.reply_to ? byId.get(message.reply_to) : undefined;
          const showSender = newDay || before?.sender_id !== message.sender_id || before?.kind === 'system';
          return [
            newDay && (
              <li key={`day-${key}`} className="day">
                {dayLabel(message.created_at)}
              </li>
            ),
            <MessageItem
              key={key}
              message={message}
              mine={message.sender_id === myId}
              myId={myId}
              senderName={nameOf(message.sender_id, message)}
              showSender={showSender}
              quoted={
                message.reply_to
                  ? {
                      name: replied ? nameOf(replied.sender_id, replied) : '',
                      text: replied
                        ? replied.deleted_at
                          ? 'deleted message'
                          : replied.body
                        : 'an earlier message',
                    }
                  : null
              }
              receipt={message.sender_id === myId ? receiptOf(message, members, others) : null}
              nameOf={(userId) => nameOf(userId)}
              actions={actions}
            />,
            message === lastMine && seenBy.length > 0 && (
              <li key="seen-by" className="seen-by">
                {isGroup ? `Seen by ${listNames(seenBy)}` : 'Seen'}
              </li>
            ),
          ];
        })}
      </ol>
    </div>
  );
}
