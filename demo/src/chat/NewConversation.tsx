// Start a direct conversation with one person, or a group with several.

import type { SupabaseClient } from '@supabase/supabase-js';
import { type FormEvent, useId, useState } from 'react';
import { type ApiError, describeError } from '../errors.ts';
import { createGroup, openDirectConversation, type Profile } from '../rpc.ts';
import { Alert } from '../ui/Alert.tsx';
import { Dialog } from '../ui/Dialog.tsx';
import { PeopleSearch } from './PeopleSearch.tsx';

interface Props {
  supabase: SupabaseClient;
  myId: string;
  onOpened: (conversationId: string) => void;
  onClose: () => void;
}

export function NewDirectMessage({ supabase, myId, onOpened, onClose }: Props) {
  const [error, setError] = useState<string | null>(null);
  const start = async (person: Profile) => {
    try {
      onOpened(await openDirectConversation(supabase, person.id));
    } catch (failure) {
      setError(describeError(failure as ApiError));
    }
  };
  return (
    <Dialog title="New message" onClose={onClose}>
      <PeopleSearch
        supabase={supabase}
        exclude={new Set([myId])}
        action={(person) => (
          <button type="button" className="button small primary" onClick={() => void start(person)}>
            Message<span className="visually-hidden"> {person.display_name}</span>
          </button>
        )}
      />
      <Alert message={error} />
      <div className="dialog-actions">
        <button type="button" className="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

export function NewGroup({ supabase, myId, onOpened, onClose }: Props) {
  const titleId = useId();
  const [title, setTitle] = useState('');
  const [chosen, setChosen] = useState<Profile[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      onOpened(
        await createGroup(
          supabase,
          title.trim(),
          chosen.map((person) => person.id),
        ),
      );
    } catch (failure) {
      setError(describeError(failure as ApiError));
      setBusy(false);
    }
  };

  return (
    <Dialog title="New group" onClose={onClose}>
      <form className="dialog-body" style={{ padding: 0 }} onSubmit={submit}>
        <div className="field">
          <label htmlFor={titleId}>Group name</label>
          <input
            id={titleId}
            className="input"
            required
            maxLength={100}
            value={title}
            onChange={(event) => setTitle(event.target.value)}
          />
        </div>
        {chosen.length > 0 && (
          <ul className="chips" aria-label="Members to add">
            {chosen.map((person) => (
              <li key={person.id} className="chip">
                {person.display_name}
                <button
                  type="button"
                  aria-label={`Do not add ${person.display_name}`}
                  onClick={() => setChosen(chosen.filter((other) => other.id !== person.id))}
                >
                  ×
                </button>
              </li>
            ))}
          </ul>
        )}
        <PeopleSearch
          supabase={supabase}
          exclude={new Set([myId, ...chosen.map((person) => person.id)])}
          action={(person) => (
            <button type="button" className="button small" onClick={() => setChosen([...chosen, person])}>
              Add<span className="visually-hidden"> {person.display_name}</span>
            </button>
          )}
        />
        <Alert message={error} />
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button primary" disabled={busy || !title.trim()}>
            Create group
          </button>
        </div>
      </form>
    </Dialog>
  );
}
