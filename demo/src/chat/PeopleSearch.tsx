// Finds people by name (or by their exact email address) as you type.

import type { SupabaseClient } from '@supabase/supabase-js';
import { type ReactNode, useEffect, useId, useState } from 'react';
import { type ApiError, describeError } from '../errors.ts';
import { type Profile, searchProfiles } from '../rpc.ts';
import { Alert } from '../ui/Alert.tsx';
import { Avatar } from '../ui/Avatar.tsx';

const SEARCH_DELAY_MS = 250;

export function PeopleSearch({
  supabase,
  exclude,
  action,
}: {
  supabase: SupabaseClient;
  /** People not to offer (yourself, those already chosen or already members). */
  exclude: ReadonlySet<string>;
  /** What a row offers to do with the person. */
  action: (person: Profile) => ReactNode;
}) {
  const inputId = useId();
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Profile[]>([]);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const text = query.trim();
    if (!text) {
      setResults([]);
      return;
    }
    let current = true;
    const timer = setTimeout(() => {
      searchProfiles(supabase, text).then(
        (found) => {
          if (!current) return;
          setResults(found);
          setError(null);
        },
        (failure: ApiError) => current && setError(describeError(failure)),
      );
    }, SEARCH_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [supabase, query]);

  const shown = results.filter((person) => !exclude.has(person.id));
  return (
    <div className="field">
      <label htmlFor={inputId}>Search people</label>
      <input
        id={inputId}
        className="input"
        type="search"
        placeholder="A name, or an exact email address"
        autoComplete="off"
        value={query}
        onChange={(event) => setQuery(event.target.value)}
      />
      <Alert message={error} />
      <ul className="people" aria-label="People found">
        {shown.map((person) => (
          <li key={person.id} className="person">
            <Avatar id={person.id} name={person.display_name} small />
            <span className="grow">{person.display_name}</span>
            {action(person)}
          </li>
        ))}
      </ul>
      {query.trim() && shown.length === 0 && !error && <p className="role">Nobody found yet.</p>}
    </div>
  );
}
