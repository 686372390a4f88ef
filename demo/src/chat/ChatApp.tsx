// The signed-in app: the conversation list beside the open conversation.

import type { SupabaseClient, User } from '@supabase/supabase-js';
import { useState } from 'react';
import { openConversation, useOpenConversationId } from '../route.ts';
import { Avatar } from '../ui/Avatar.tsx';
import { NewDirectMessage, NewGroup } from './NewConversation.tsx';

export function displayNameOf(user: User): string {
  const name = user.user_metadata?.display_name;
  return typeof name === 'string' && name ? name : (user.email ?? 'Guest');
}

export function ChatApp({ supabase, user }: { supabase: SupabaseClient; user: User }) {
  const openId = useOpenConversationId();
  const [dialog, setDialog] = useState<'direct' | 'group' | null>(null);
  const opened = (conversationId: string) => {
    setDialog(null);
    openConversation(conversationId);
  };
  const name = displayNameOf(user);

  return (
    <div className={`shell${openId ? ' has-open' : ''}`}>
      <aside className="sidebar" aria-label="Conversations">
        <header className="bar">
          <h1 className="grow">Chats</h1>
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
        <p className="empty">No conversations yet.</p>
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
        <div className="empty">
          <h2>Pick a conversation</h2>
          <p>Or start one: find someone with “New message”, or gather people in a group.</p>
        </div>
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
