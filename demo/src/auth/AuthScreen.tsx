// Sign in, create an account, or try it as a guest with just a name.

import type { SupabaseClient } from '@supabase/supabase-js';
import { type FormEvent, useId, useState } from 'react';
import { describeAuthError } from '../errors.ts';
import { Alert } from '../ui/Alert.tsx';

type Mode = 'sign-in' | 'sign-up' | 'guest';

const MODES: { mode: Mode; label: string }[] = [
  { mode: 'sign-in', label: 'Sign in' },
  { mode: 'sign-up', label: 'Create account' },
  { mode: 'guest', label: 'Guest' },
];

export function AuthScreen({ supabase }: { supabase: SupabaseClient }) {
  const [mode, setMode] = useState<Mode>('sign-in');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ids = { email: useId(), password: useId(), name: useId(), panel: useId() };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const name = displayName.trim();
    const data = name ? { display_name: name } : undefined;
    const { error: failure } =
      mode === 'sign-in'
        ? await supabase.auth.signInWithPassword({ email, password })
        : mode === 'sign-up'
          ? await supabase.auth.signUp({ email, password, options: { data } })
          : await supabase.auth.signInAnonymously({ options: { data } });
    setBusy(false);
    if (failure) setError(describeAuthError(failure));
  };

  const action = MODES.find((entry) => entry.mode === mode)?.label ?? '';
  return (
    <main className="auth">
      <div className="auth-card">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ✦
          </span>
          supachat
        </div>
        <div className="tabs" role="tablist" aria-label="How to sign in">
          {MODES.map((entry) => (
            <button
              key={entry.mode}
              type="button"
              role="tab"
              className="tab"
              aria-selected={mode === entry.mode}
              aria-controls={ids.panel}
              onClick={() => {
                setMode(entry.mode);
                setError(null);
              }}
            >
              {entry.label}
            </button>
          ))}
        </div>
        <form id={ids.panel} role="tabpanel" aria-label={action} onSubmit={submit}>
          {mode === 'guest' && (
            <p>No email needed: pick the name others will see. A guest account lives in this browser only.</p>
          )}
          {mode !== 'guest' && (
            <>
              <div className="field">
                <label htmlFor={ids.email}>Email</label>
                <input
                  id={ids.email}
                  className="input"
                  type="email"
                  autoComplete="email"
                  required
                  value={email}
                  onChange={(event) => setEmail(event.target.value)}
                />
              </div>
              <div className="field">
                <label htmlFor={ids.password}>Password</label>
                <input
                  id={ids.password}
                  className="input"
                  type="password"
                  autoComplete={mode === 'sign-up' ? 'new-password' : 'current-password'}
                  minLength={mode === 'sign-up' ? 6 : undefined}
                  required
                  value={password}
                  onChange={(event) => setPassword(event.target.value)}
                />
              </div>
            </>
          )}
          {mode !== 'sign-in' && (
            <div className="field">
              <label htmlFor={ids.name}>Display name</label>
              <input
                id={ids.name}
                className="input"
                autoComplete="nickname"
                maxLength={64}
                required={mode === 'guest'}
                value={displayName}
                onChange={(event) => setDisplayName(event.target.value)}
              />
            </div>
          )}
          <Alert message={error} />
          <button className="button primary" type="submit" disabled={busy}>
            {busy ? 'One moment…' : mode === 'guest' ? 'Continue as guest' : action}
          </button>
        </form>
      </div>
    </main>
  );
}
