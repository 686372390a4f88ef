// One open conversation: its header (who, who is online), the timeline, who is
// typing, and the composer. Everything comes from the client library's
// conversation store; sends, edits and reactions go through it.

import type { SupabaseClient } from '@supabase/supabase-js';
import { useState } from 'react';
import { useConversation, usePresence, useTyping } from '../../../client/react/index.ts';
import type { ChatMessage } from '../../../client/src/index.ts';
import { type ApiError, describeError } from '../errors.ts';
import { listNames } from '../format.ts';
import { openConversation } from '../route.ts';
import { Avatar } from '../ui/Avatar.tsx';
import { Composer } from './Composer.tsx';
import { MembersPanel } from './MembersPanel.tsx';
import type { MessageActions } from './MessageItem.tsx';
import { Timeline } from './Timeline.tsx';
import { conversationName } from './types.ts';

export function ConversationPane({
  supabase,
  conversationId,
  myId,
}: {
  supabase: SupabaseClient;
  conversationId: string;
  myId: string;
}) {
  const conversation = useConversation(conversationId);
  const typing = useTyping(conversationId);
  const online = usePresence(conversationId);
  const [replyTo, setReplyTo] = useState<ChatMessage | null>(null);
  const [editing, setEditing] = useState<ChatMessage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [showMembers, setShowMembers] = useState(false);

  const { entry, members } = conversation;
  const names = new Map(members.map((member) => [member.user_id, member.display_name]));
  const nameOf = (userId: string | null, message?: ChatMessage) => {
    if (userId === myId) return 'You';
    if (userId)
      return names.get(userId) ?? (entry?.peer?.id === userId ? entry.peer.display_name : 'Former member');
    const external = message?.metadata.external as { name?: string; address?: string } | undefined;
    return external?.name ?? external?.address ?? 'Outside contact';
  };

  /** Runs a change, showing what went wrong (a 429, a refusal) above the composer. */
  const attempt = (work: () => Promise<unknown>) => {
    setError(null);
    work().catch((failure: ApiError) => setError(describeError(failure)));
  };

  const actions: MessageActions = {
    reply: (message) => {
      setEditing(null);
      setReplyTo(message);
    },
    edit: (message) => {
      setReplyTo(null);
      setEditing(message);
    },
    remove: (message) => {
      if (message.id && window.confirm('Delete this message for everyone?')) {
        attempt(() => conversation.delete(message.id as string));
      }
    },
    toggleReaction: (message, emoji) => {
      if (!message.id) return;
      const id = message.id;
      const mine = message.reactions[emoji]?.includes(myId);
      attempt(() => (mine ? conversation.unreact(id, emoji) : conversation.react(id, emoji)));
    },
    retry: (message) => message.client_id && attempt(() => conversation.retry(message.client_id as string)),
    discard: (message) =>
      message.client_id && attempt(() => conversation.discard(message.client_id as string)),
  };

  const title = entry ? conversationName(entry) : '';
  const isGroup = entry?.kind === 'group';
  const othersOnline = members.filter((member) => member.user_id !== myId && online.includes(member.user_id));
  const subtitle = isGroup
    ? `${members.length} ${members.length === 1 ? 'member' : 'members'}${othersOnline.length > 0 ? `, ${othersOnline.length} online` : ''}`
    : othersOnline.length > 0
      ? 'Online'
      : 'Offline';
  const typingNames = typing.map((userId) => nameOf(userId));
  const removed = conversation.removed;

  return (
    <>
      <header className="bar">
        <button
          type="button"
          className="icon-button back-button"
          aria-label="Back to conversations"
          onClick={() => openConversation(null)}
        >
          ←
        </button>
        <Avatar
          id={entry?.peer?.id ?? conversationId}
          name={title || '?'}
          online={!isGroup && othersOnline.length > 0}
        />
        <div className="grow">
          <h2>{title}</h2>
          <div className="subtitle">
            {removed ? 'You are no longer a member' : entry ? subtitle : 'Loading…'}
          </div>
        </div>
        {isGroup && !removed && (
          <button type="button" className="button small" onClick={() => setShowMembers(true)}>
            Members
          </button>
        )}
      </header>
      {removed && (
        <div className="banner" role="status" aria-label="Membership">
          {removed.reason === 'left' ? 'You left this group.' : 'You were removed from this group.'}
        </div>
      )}
      {conversation.error && !removed && (
        <div className="banner" role="alert">
          {describeError(conversation.error)}
        </div>
      )}
      <Timeline
        messages={conversation.messages}
        members={members}
        myId={myId}
        isGroup={isGroup}
        hasOlder={conversation.hasOlder}
        loadingOlder={conversation.loadingOlder}
        onLoadOlder={() => void conversation.loadOlder()}
        nameOf={nameOf}
        actions={actions}
      />
      <div className="typing" aria-live="polite">
        {typingNames.length > 0 &&
          `${listNames(typingNames)} ${typingNames.length === 1 ? 'is' : 'are'} typing…`}
      </div>
      <Composer
        replyingTo={replyTo && { name: nameOf(replyTo.sender_id, replyTo), text: replyTo.body }}
        editing={editing?.body ?? null}
        error={error}
        disabled={removed ? 'You can no longer write here' : null}
        onSend={(body) => {
          setError(null);
          void conversation.send(body, { reply_to: replyTo?.id ?? null });
          setReplyTo(null);
        }}
        onSaveEdit={(body) => {
          if (!editing?.id) return;
          const message = editing;
          setEditing(null);
          // Refused (a 429, say): back to editing, with what was written.
          attempt(() =>
            conversation.edit(message.id as string, body).catch((failure) => {
              setEditing({ ...message, body });
              throw failure;
            }),
          );
        }}
        onCancel={() => {
          setEditing(null);
          setReplyTo(null);
        }}
        onTyping={(active) => (active ? conversation.keystroke() : conversation.stopTyping())}
      />
      {showMembers && entry && (
        <MembersPanel
          supabase={supabase}
          conversationId={conversationId}
          title={title}
          members={members}
          myId={myId}
          isOnline={(userId) => online.includes(userId)}
          onLeft={() => {
            setShowMembers(false);
            openConversation(null);
          }}
          onClose={() => setShowMembers(false)}
        />
      )}
    </>
  );
}
