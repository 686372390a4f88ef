-- Plan the paging queries for each call's own arguments.
--
-- PL/pgSQL caches a statement's plan and, after five calls, may switch to a generic
-- plan built without the argument values. For these functions a generic plan is much
-- worse: under RLS it keeps bounds like `seq < coalesce(before_seq, ...)` as a filter
-- instead of an index condition, and it estimates rows for "some conversation" or
-- "some user" where chat data is skewed (a few conversations hold millions of
-- messages). Seen with npm run bench:sql under a generic plan: get_messages with
-- before_seq walked 500,000 index entries and took 100 ms instead of 1 ms. Planning
-- each call costs a fraction of a millisecond.

-- ---------------------------------------------------------------------------
-- functions
-- ---------------------------------------------------------------------------

alter function public.get_messages(uuid, bigint, bigint, integer) set plan_cache_mode = force_custom_plan;
alter function public.sync_conversation(uuid, bigint, integer) set plan_cache_mode = force_custom_plan;
alter function public.list_inbox(text, integer) set plan_cache_mode = force_custom_plan;
