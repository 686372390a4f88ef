-- The shape and hygiene of the chat schema: which tables and functions exist,
-- RLS everywhere, who may touch what, function settings, hot-path indexes.
begin;
select plan(51);

-- tables
-- (Scoped to the chat model's own objects: other features add theirs; the checks after
-- these hold for every table and function.)
select ok(array['profiles', 'conversations', 'conversation_members', 'messages', 'message_reactions']::name[]
            <@ array(select tablename from pg_tables where schemaname = 'public'),
          'public holds the tables clients may read');
select ok(array['blocked_users', 'rate_limit_rules', 'rate_limit_buckets']::name[]
            <@ array(select tablename from pg_tables where schemaname = 'private'),
          'private holds the blocked users and the rate limits');
select is_empty($$ select tests.tables_without_rls('public') $$, 'every table in public has row level security enabled');
select is_empty($$ select tests.tables_without_rls('private') $$, 'every table in private has row level security enabled');
select is_empty(
  $$ select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('public', 'private') and c.relkind = 'r' and obj_description(c.oid, 'pg_class') is null $$,
  'every table is documented with a comment');

-- the API surface
create temporary table chat_api (name name primary key);
insert into chat_api values
  ('get_or_create_direct_conversation'), ('create_group_conversation'), ('add_conversation_members'),
  ('remove_conversation_member'), ('set_member_role'), ('leave_conversation'), ('send_message'), ('edit_message'),
  ('delete_message'), ('add_reaction'), ('remove_reaction'), ('mark_read'), ('mark_delivered'), ('list_inbox'),
  ('get_messages'), ('sync_conversation'), ('search_messages'), ('block_user'), ('unblock_user'),
  ('search_profiles'), ('update_profile');
select set_eq(
  $$ select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.proname in (select name from chat_api) $$,
  $$ select name from chat_api $$,
  'public holds the chat RPC API, one function per name');
select is((select count(*)::int from pg_proc p join pg_namespace n on n.oid = p.pronamespace
            where n.nspname = 'public' and p.proname in (select name from chat_api)), 21,
          'no RPC is overloaded (PostgREST could not choose)');
select function_returns('public', 'send_message', array['uuid', 'text', 'text', 'uuid', 'jsonb'], 'jsonb',
                        'send_message(conversation_id, client_id, body, reply_to, metadata) returns jsonb');
select function_returns('public', 'mark_read', array['uuid', 'bigint'], 'read_state',
                        'mark_read(conversation_id, seq) returns a read_state');
select function_returns('public', 'list_inbox', array['text', 'integer'], 'setof inbox_entry',
                        'list_inbox(before, max_rows) returns inbox entries');
select function_returns('public', 'get_messages', array['uuid', 'bigint', 'bigint', 'integer'], 'setof messages',
                        'get_messages(conversation_id, before_seq, after_seq, max_rows) returns messages');
select function_returns('public', 'sync_conversation', array['uuid', 'bigint', 'integer'], 'jsonb',
                        'sync_conversation(conversation_id, since_change, max_rows) returns jsonb');
select is(
  (select array_agg(p.proname::text order by p.proname) from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'public' and p.pronargdefaults > 0 and p.proname in (select name from chat_api)),
  array['get_messages', 'list_inbox', 'search_messages', 'search_profiles', 'send_message', 'sync_conversation',
        'update_profile'],
  'the optional arguments have defaults, so supabase.rpc() may leave them out');

-- function hygiene
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'private') and not coalesce(p.proconfig @> array['search_path=""'], false) $$,
  'every function in public and private sets search_path to empty');
select set_eq(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'private') and p.proconfig @> array['plan_cache_mode=force_custom_plan'] $$,
  array['get_messages(uuid,bigint,bigint,integer)', 'sync_conversation(uuid,bigint,integer)', 'list_inbox(text,integer)',
        'private.search_messages(tsquery,uuid,integer)'],
  'the paging and search queries are planned for each call''s arguments, never with a generic plan');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and p.prosecdef $$,
  'no function in public is security definer: the API runs as the caller');
select isnt_empty(
  $$ select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'private' and p.prosecdef $$,
  'the security definer functions live in private');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'private' and p.prosecdef and pg_get_userbyid(p.proowner) <> 'postgres' $$,
  'every security definer function is owned by postgres');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname in ('public', 'private') and has_function_privilege('anon', p.oid, 'execute') $$,
  'anon may execute no function of public or private');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and not has_function_privilege('authenticated', p.oid, 'execute') $$,
  'signed-in users may execute every RPC');
select is_empty(
  $$ select p.oid::regprocedure::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'private' and p.prorettype = 'trigger'::regtype
        and has_function_privilege('authenticated', p.oid, 'execute') $$,
  'signed-in users may not call trigger functions');
select ok(not has_function_privilege('authenticated', 'private.is_blocked_between(uuid, uuid)', 'execute'),
          'signed-in users cannot ask who blocked whom');

-- schemas
select ok(not has_schema_privilege('anon', 'private', 'usage'), 'anon may not use the private schema');
select ok(has_schema_privilege('authenticated', 'private', 'usage'),
          'signed-in users may use the private schema (for the helpers granted to them)');
select ok(not has_schema_privilege('authenticated', 'private', 'create'), 'signed-in users may not create objects in private');

-- table privileges
select table_privs_are('public', 'messages', 'anon', array[]::text[], 'anon has no privilege on messages');
select table_privs_are('public', 'conversations', 'anon', array[]::text[], 'anon has no privilege on conversations');
select table_privs_are('public', 'conversation_members', 'anon', array[]::text[], 'anon has no privilege on conversation_members');
select table_privs_are('public', 'message_reactions', 'anon', array[]::text[], 'anon has no privilege on message_reactions');
select table_privs_are('public', 'profiles', 'anon', array[]::text[], 'anon has no privilege on profiles');
select table_privs_are('public', 'conversations', 'authenticated', array['SELECT'],
                       'signed-in users only read conversations (they change through the RPCs)');
select table_privs_are('public', 'messages', 'authenticated', array['SELECT'],
                       'signed-in users read messages; they insert and update only some columns');
select column_privs_are('public', 'messages', 'sender_id', 'authenticated', array['SELECT'],
                        'sender_id cannot be written by clients, so it cannot be spoofed');
select column_privs_are('public', 'messages', 'seq', 'authenticated', array['SELECT'],
                        'seq cannot be written by clients');
select column_privs_are('public', 'messages', 'body', 'authenticated', array['SELECT', 'INSERT', 'UPDATE'],
                        'the body is written by its sender');
select column_privs_are('public', 'conversation_members', 'role', 'authenticated', array['SELECT'],
                        'members cannot change their role');
select column_privs_are('public', 'conversation_members', 'last_read_seq', 'authenticated', array['SELECT', 'UPDATE'],
                        'members move their own read state');
select table_privs_are('private', 'blocked_users', 'authenticated', array[]::text[],
                       'signed-in users have no privilege on blocked_users');
select table_privs_are('private', 'rate_limit_buckets', 'authenticated', array[]::text[],
                       'signed-in users have no privilege on rate_limit_buckets');

-- policies
select policies_are('public', 'messages',
                    array['messages_select_member', 'messages_insert_member_as_sender', 'messages_update_sender_or_group_admin'],
                    'messages has a select, an insert and an update policy');
select policies_are('public', 'conversation_members',
                    array['conversation_members_select_member', 'conversation_members_update_own'],
                    'conversation_members has a select and an update policy');
select policies_are('public', 'conversations', array['conversations_select_member'], 'conversations has only a select policy');
select policies_are('public', 'message_reactions',
                    array['message_reactions_select_member', 'message_reactions_insert_member_as_self',
                          'message_reactions_delete_own'],
                    'message_reactions has select, insert and delete policies');
select policies_are('realtime', 'messages',
                    array['realtime_messages_select_member_or_self', 'realtime_messages_insert_member'],
                    'realtime.messages has one select and one insert policy');
select is_empty(
  $$ select tablename || '.' || policyname from pg_policies
      where schemaname in ('public', 'realtime') and roles <> array['authenticated']::name[] $$,
  'every policy applies to authenticated only');

-- hot-path indexes
select index_is_unique('public', 'messages', 'messages_conversation_id_seq_key',
                       'seq is unique per conversation (get_messages pages it)');
select index_is_unique('public', 'messages', 'messages_conversation_id_change_seq_key',
                       'change_seq is unique per conversation (sync_conversation ranges over it)');
select index_is_unique('public', 'messages', 'messages_sender_id_client_id_key',
                       'client_id is unique per sender (the idempotency key)');
select has_index('public', 'conversation_members', 'conversation_members_user_id_idx', array['user_id', 'conversation_id'],
                 'memberships are indexed by user (policies, list_inbox)');
select has_index('public', 'messages', 'messages_search_idx', 'message bodies have a full-text index');
select has_index('public', 'profiles', 'profiles_display_name_trgm_idx', 'display names have a trigram index');

select * from finish();
rollback;
