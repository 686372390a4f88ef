// The signed-in app: the conversation list beside the open conversation, on
// one chat client for this user.

import type { SupabaseClient, User } from '@supabase/supabase-js';
import { useEffect, useState } from 'react';
import { ChatProvider, useConnection, useInbox } from '../../../client/react/index.ts';
import { type ChatClient, createChat } from '../../../client/src/index.ts';
import { openConversation, useOpenConversationId } from '../route.ts';
import { Avatar } from '../ui/Avatar.tsx';
import { ConnectionIndicator } from './ConnectionIndicator.tsx';
import { ConversationPane } from './ConversationPane.tsx';
import { InboxList } from './InboxList.tsx';
import { NewDirectMessage, NewGroup } from './NewConversation.tsx';

export function displayNameOf(user: User): string {
  const name = user.user_metadata?.display_name;
  return typeof name === 'string' && name ? name : (user.email ?? 'Guest');
}

export function ChatApp({ supabase, user }: { supabase: SupabaseClient; user: User }) {
  const [chat, setChat] = useState<ChatClient | null>(null);
  useEffect(() => {
    const client = createChat(supabase, { webrtc: true });
    setChat(client);
    return () => client.close();
  }, [supabase]);
  if (!chat) return null;
  return (
    <ChatProvider chat={chat}>
      <ChatScreens supabase={supabase} user={user} />
    </ChatProvider>
  );
}

function ChatScreens({ supabase, user }: { supabase: SupabaseClient; user: User }) {
  const openId = useOpenConversationId();
  const inbox = useInbox();
  const connection = useConnection();
  const [dialog, setDialog] = useState<'direct' | 'group' | null>(null);
  const opened = (conversationId: string) => {
    setDialog(null);
    openConversation(conversationId);
  };
  const name = displayNameOf(user);

  useEffect(() => {
    document.title = inbox.unreadConversations > 0 ? `(${inbox.unreadConversations}) supachat` : 'supachat';
  }, [inbox.unreadConversations]);

  return (
    <div className={`shell${openId ? ' has-open' : ''}`}>
      <aside className="sidebar" aria-label="Conversations">
        <header className="bar">
          <h1 className="grow">Chats</h1>
          <ConnectionIndicator
            state={connection.state}
            transport={connection.state === 'live' ? connection.transport : null}
            problem={connection.error?.message ?? null}
          />
          <button
            type="button"
            className="icon-button"
            aria-label="New message"
            onClick={() => setDialog('direct')}
          >
            ✎
          </button>
          <button
            type="button"
            className="icon-button"
            aria-label="New group"
            onClick={() => setDialog('group')}
          >
            ⊕
          </button>
        </header>
        {inbox.status === 'loading' ? (
          <p className="empty">Loading conversations…</p>
        ) : (
          <InboxList entries={inbox.entries} myId={user.id} openId={openId} />
        )}
        <footer className="me">
          <Avatar id={user.id} name={name} small />
          <span className="grow">
            {name}
            {user.is_anonymous && <span className="role"> · guest</span>}
          </span>
          <button type="button" className="button small" onClick={() => void supabase.auth.signOut()}>
            Sign out
          </button>
        </footer>
      </aside>
      <main className="main">
        {openId ? (
          <ConversationPane key={openId} supabase={supabase} conversationId={openId} myId={user.id} />
        ) : (
          <div className="empty">
            <h2>Pick a conversation</h2>
            <p>Or start one: find someone with “New message”, or gather people in a group.</p>
          </div>
        )}
      </main>
      {dialog === 'direct' && (
        <NewDirectMessage
          supabase={supabase}
          myId={user.id}
          onOpened={opened}
          onClose={() => setDialog(null)}
        />
      )}
      {dialog === 'group' && (
        <NewGroup supabase={supabase} myId={user.id} onOpened={opened} onClose={() => setDialog(null)} />
      )}
    </div>
  );
}
