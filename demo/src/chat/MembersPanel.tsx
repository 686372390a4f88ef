// A group's people: who is in it and online, adding and removing them (owners
// and admins), and leaving.

import type { SupabaseClient } from '@supabase/supabase-js';
import { useState } from 'react';
import type { Member } from '../../../client/src/index.ts';
import { type ApiError, describeError } from '../errors.ts';
import { addMembers, leaveConversation, removeMember } from '../rpc.ts';
import { Alert } from '../ui/Alert.tsx';
import { Avatar } from '../ui/Avatar.tsx';
import { Dialog } from '../ui/Dialog.tsx';
import { PeopleSearch } from './PeopleSearch.tsx';

export function MembersPanel({
  supabase,
  conversationId,
  title,
  members,
  myId,
  isOnline,
  onLeft,
  onClose,
}: {
  supabase: SupabaseClient;
  conversationId: string;
  title: string;
  members: readonly Member[];
  myId: string;
  isOnline: (userId: string) => boolean;
  onLeft: () => void;
  onClose: () => void;
}) {
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);
  const myRole = members.find((member) => member.user_id === myId)?.role;
  const canManage = myRole === 'owner' || myRole === 'admin';

  const attempt = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
    } catch (failure) {
      setError(describeError(failure as ApiError));
    }
  };

  return (
    <Dialog title={`${title}: members`} onClose={onClose}>
      <ul className="people" aria-label="Members">
        {members.map((member) => (
          <li key={member.user_id} className="person">
            <Avatar id={member.user_id} name={member.display_name} online={isOnline(member.user_id)} small />
            <span className="grow">
              {member.display_name}
              {member.user_id === myId && ' (you)'}
            </span>
            {member.role !== 'member' && <span className="role">{member.role}</span>}
            {canManage && member.user_id !== myId && member.role !== 'owner' && (
              <button
                type="button"
                className="button small danger"
                onClick={() => void attempt(() => removeMember(supabase, conversationId, member.user_id))}
              >
                Remove<span className="visually-hidden"> {member.display_name}</span>
              </button>
            )}
          </li>
        ))}
      </ul>
      {canManage &&
        (adding ? (
          <PeopleSearch
            supabase={supabase}
            exclude={new Set(members.map((member) => member.user_id))}
            action={(person) => (
              <button
                type="button"
                className="button small"
                onClick={() => void attempt(() => addMembers(supabase, conversationId, [person.id]))}
              >
                Add<span className="visually-hidden"> {person.display_name}</span>
              </button>
            )}
          />
        ) : (
          <button type="button" className="button" onClick={() => setAdding(true)}>
            Add people
          </button>
        ))}
      <Alert message={error} />
      <div className="dialog-actions">
        <button
          type="button"
          className="button danger"
          onClick={() =>
            void attempt(async () => {
              await leaveConversation(supabase, conversationId);
              onLeft();
            })
          }
        >
          Leave group
        </button>
        <button type="button" className="button" onClick={onClose}>
          Done
        </button>
      </div>
    </Dialog>
  );
}
