// Signed out: the sign-in screen. Signed in: the chat, made afresh for each user.

import type { Session, SupabaseClient } from '@supabase/supabase-js';
import { useEffect, useState } from 'react';
import { AuthScreen } from './auth/AuthScreen.tsx';
import { ChatApp } from './chat/ChatApp.tsx';

export function App({ supabase }: { supabase: SupabaseClient }) {
  const [session, setSession] = useState<Session | null | undefined>(undefined);

  useEffect(() => {
    void supabase.auth.getSession().then(({ data }) => setSession(data.session));
    const { data } = supabase.auth.onAuthStateChange((_event, next) => setSession(next));
    return () => data.subscription.unsubscribe();
  }, [supabase]);

  if (session === undefined) return <p className="empty">Loading…</p>;
  if (!session) return <AuthScreen supabase={supabase} />;
  return <ChatApp key={session.user.id} supabase={supabase} user={session.user} />;
}
