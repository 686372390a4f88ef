// The backend calls that are not sync: finding people and managing
// conversations. Each resolves with its data or throws the API error.

import type { SupabaseClient } from '@supabase/supabase-js';
import type { ApiError } from './errors.ts';

export interface Profile {
  id: string;
  display_name: string;
  avatar_url: string | null;
}

interface ConversationRow {
  id: string;
}

async function call<T>(supabase: SupabaseClient, name: string, args: Record<string, unknown>): Promise<T> {
  const { data, error } = await supabase.rpc(name, args);
  if (error) throw error satisfies ApiError;
  return data as T;
}

export const searchProfiles = (supabase: SupabaseClient, query: string) =>
  call<Profile[]>(supabase, 'search_profiles', { query, max_rows: 20 });

export const openDirectConversation = async (supabase: SupabaseClient, userId: string) =>
  (await call<ConversationRow>(supabase, 'get_or_create_direct_conversation', { other_user_id: userId })).id;

export const createGroup = async (supabase: SupabaseClient, title: string, memberIds: string[]) =>
  (await call<ConversationRow>(supabase, 'create_group_conversation', { title, member_ids: memberIds })).id;

export const addMembers = (supabase: SupabaseClient, conversationId: string, userIds: string[]) =>
  call<unknown>(supabase, 'add_conversation_members', { conversation_id: conversationId, user_ids: userIds });

export const removeMember = (supabase: SupabaseClient, conversationId: string, userId: string) =>
  call<unknown>(supabase, 'remove_conversation_member', { conversation_id: conversationId, user_id: userId });

export const leaveConversation = (supabase: SupabaseClient, conversationId: string) =>
  call<unknown>(supabase, 'leave_conversation', { conversation_id: conversationId });
