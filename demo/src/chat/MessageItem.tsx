// One message: who and when, what it answers, its text (or that it was
// deleted), reactions, and for your own its send state and receipt tick.

import { useState } from 'react';
import type { ChatMessage } from '../../../client/src/index.ts';
import { describeError, describeWait } from '../errors.ts';
import { messageTime } from '../format.ts';
import { Avatar } from '../ui/Avatar.tsx';

export const QUICK_REACTIONS = ['👍', '❤️', '😂', '🎉', '😮', '😢'];

export type Receipt = 'sent' | 'delivered' | 'read';

export interface MessageActions {
  reply(message: ChatMessage): void;
  edit(message: ChatMessage): void;
  remove(message: ChatMessage): void;
  toggleReaction(message: ChatMessage, emoji: string): void;
  retry(message: ChatMessage): void;
  discard(message: ChatMessage): void;
}

const TICKS: Record<Receipt, { mark: string; label: string }> = {
  sent: { mark: '✓', label: 'Sent' },
  delivered: { mark: '✓✓', label: 'Delivered' },
  read: { mark: '✓✓', label: 'Read' },
};

export function MessageItem({
  message,
  mine,
  myId,
  senderName,
  showSender,
  quoted,
  receipt,
  nameOf,
  actions,
}: {
  message: ChatMessage;
  mine: boolean;
  myId: string;
  senderName: string;
  /** The first of a run of messages by one sender shows who it is. */
  showSender: boolean;
  /** The text of the message this one replies to. */
  quoted: { name: string; text: string } | null;
  receipt: Receipt | null;
  nameOf: (userId: string) => string;
  actions: MessageActions;
}) {
  const [picking, setPicking] = useState(false);
  const deleted = message.deleted_at !== null;
  const sent = message.status === 'sent';
  const classes = ['message', message.status, mine && 'mine', !showSender && 'follow'].filter(Boolean);
  const reactions = Object.entries(message.reactions).filter(([, users]) => users.length > 0);

  return (
    <li
      className={classes.join(' ')}
      data-seq={message.seq ?? undefined}
      aria-label={`${senderName}: ${deleted ? 'deleted message' : message.body}`}
    >
      <span className="avatar-slot">
        {!mine && showSender && <Avatar id={message.sender_id ?? senderName} name={senderName} small />}
      </span>
      <div className="bubble">
        {!mine && showSender && <div className="sender">{senderName}</div>}
        {quoted && (
          <div className="quote">
            <strong>{quoted.name}</strong> {quoted.text}
          </div>
        )}
        <div className={`body${deleted ? ' deleted' : ''}`}>
          {deleted ? 'This message was deleted' : message.body}
        </div>
        {reactions.length > 0 && (
          <div className="reactions">
            {reactions.map(([emoji, users]) => (
              <button
                key={emoji}
                type="button"
                className="reaction"
                aria-pressed={users.includes(myId)}
                aria-label={`${emoji} ${users.length}: ${users.map(nameOf).join(', ')}`}
                title={users.map(nameOf).join(', ')}
                disabled={!sent || deleted}
                onClick={() => actions.toggleReaction(message, emoji)}
              >
                {emoji} <span>{users.length}</span>
              </button>
            ))}
          </div>
        )}
        <div className="meta">
          {message.edited_at && !deleted && <span>edited</span>}
          <time dateTime={message.created_at}>{messageTime(message.created_at)}</time>
          {mine && message.status === 'pending' && (
            <span role="img" aria-label="Sending">
              🕓
            </span>
          )}
          {mine && receipt && (
            <span className="tick" data-receipt={receipt} role="img" aria-label={TICKS[receipt].label}>
              {TICKS[receipt].mark}
            </span>
          )}
        </div>
        {message.status === 'pending' && message.error && (
          <div className="pending-note">{describeWait(message.error)}</div>
        )}
        {message.status === 'failed' && (
          <div className="send-error" role="alert">
            <span>
              Not sent: {message.error ? describeError(message.error) : 'it could not be delivered.'}
            </span>
            <button type="button" className="button small" onClick={() => actions.retry(message)}>
              Retry
            </button>
            <button type="button" className="button small" onClick={() => actions.discard(message)}>
              Discard
            </button>
          </div>
        )}
      </div>
      {sent && !deleted && (
        <div className="actions" role="toolbar" aria-label="Message actions">
          {picking ? (
            <div className="picker">
              {QUICK_REACTIONS.map((emoji) => (
                <button
                  key={emoji}
                  type="button"
                  aria-label={`React with ${emoji}`}
                  onClick={() => {
                    setPicking(false);
                    actions.toggleReaction(message, emoji);
                  }}
                >
                  {emoji}
                </button>
              ))}
            </div>
          ) : (
            <button type="button" aria-label="Add a reaction" onClick={() => setPicking(true)}>
              ☺
            </button>
          )}
          <button type="button" aria-label="Reply" onClick={() => actions.reply(message)}>
            ↩
          </button>
          {mine && (
            <>
              <button type="button" aria-label="Edit" onClick={() => actions.edit(message)}>
                ✎
              </button>
              <button type="button" aria-label="Delete" onClick={() => actions.remove(message)}>
                🗑
              </button>
            </>
          )}
        </div>
      )}
    </li>
  );
}
