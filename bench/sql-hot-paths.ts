// SQL hot paths at scale (a benchmark, not a test): one user in 1,000
// conversations, one conversation holding 1,000,000 messages, then each hot
// RPC — send_message, list_inbox, get_messages, sync_conversation (and
// search_messages) — called as that user, with its time and its plans.
//
//   npm run bench:sql
//
// It starts a throwaway database (platform stand-in, migrations, test helpers),
// bulk-generates the data in SQL with triggers off, then for every call prints
// EXPLAIN (ANALYZE, BUFFERS) of the call and, through auto_explain, the plan of
// every statement the function runs inside, followed by the indexes those plans
// used and any sequential scan of a chat table. Times are the median and p95 of
// repeated calls made without auto_explain; the plans are taken after them, so they
// are the plans the application gets once PL/pgSQL has cached its statements.

import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createLogger } from '../emulator/log.ts';
import { withDatabaseForTests } from '../scripts/test-database.ts';
import { ms, percentile } from './lib.ts';

const CONVERSATIONS = 1_000;
/** Everybody else, so that the planner sees the selectivity of a real project. */
const OTHER_USERS = 20_000;
const OTHER_CONVERSATIONS = 200_000;
const MESSAGES_PER_SMALL_CONVERSATION = 10;
const BIG_MESSAGES = 1_000_000;
const BATCH = 100_000;
const TIMED_RUNS = 30;
const CHAT_TABLES = ['messages', 'conversations', 'conversation_members', 'message_reactions', 'profiles'];
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

interface Loaded {
  ownerId: string;
  peerId: string;
  bigId: string;
}

interface Fixture extends Loaded {
  /** The 450th entry's cursor in bench-owner's inbox (page 10 of 50 starts after it). */
  inboxCursor: string;
  /** The big room's change cursor after loading. */
  lastChange: number;
}

interface HotPath {
  name: string;
  /** What the call shows. */
  about: string;
  /** The call, as the caller makes it; `$n` parameters come from params(run). */
  sql: string;
  params: (run: number) => unknown[];
}

const elapsed = (started: number) => performance.now() - started;

async function step(label: string, work: () => Promise<unknown>) {
  const started = performance.now();
  await work();
  console.log(`  ${label} (${(elapsed(started) / 1000).toFixed(1)} s)`);
}

async function fill(admin: pg.Client): Promise<Loaded> {
  console.log('Filling the database');
  const { rows } = await admin.query<{ owner: string; peer: string }>(
    `select tests.create_user('bench-owner') as owner, tests.create_user('bench-peer') as peer`,
  );
  const ownerId = rows[0]?.owner as string;
  const peerId = rows[0]?.peer as string;
  await step(`${OTHER_USERS.toLocaleString('en')} other users (with their profiles)`, () =>
    admin.query(`select count(tests.create_user('someone-' || g)) from generate_series(1, $1::int) g`, [
      OTHER_USERS,
    ]),
  );
  // Bulk generation with triggers (and FK checks) off; the cursors the triggers
  // would keep are set directly, consistent with the rows.
  await admin.query('set session_replication_role = replica');

  await step(
    `${OTHER_CONVERSATIONS.toLocaleString('en')} conversations of the others, 3 messages each`,
    async () => {
      await admin.query(
        `insert into public.conversations (kind, title, created_at, member_count, last_seq, last_change, last_message_at)
       select 'group', 'Other ' || g, now() - interval '60 days', 2, 3, 3, now() - g * interval '7 seconds'
         from generate_series(1, $1::int) g`,
        [OTHER_CONVERSATIONS],
      );
      await admin.query(
        `with others as (select array_agg(u.id order by u.id) as ids from tests.users u where u.identifier like 'someone-%')
       insert into public.conversation_members (conversation_id, user_id, role)
       select c.id, others.ids[1 + (abs(hashtext(c.id::text || pick.n)) % cardinality(others.ids))],
              case pick.n when 1 then 'owner' else 'member' end
         from public.conversations c cross join others cross join (values (1), (2)) pick (n)
        where c.title like 'Other %'
       on conflict do nothing`,
      );
      await admin.query(
        `insert into public.messages (conversation_id, seq, change_seq, sender_id, client_id, body, created_at)
       select m.conversation_id, s, s, m.user_id, m.conversation_id::text || ':' || s,
              'chatter ' || s || ' about ' || ($1::text[])[1 + s], now() - interval '1 day'
         from public.conversation_members m cross join generate_series(1, 3) s
        where m.role = 'owner'`,
        [WORDS],
      );
    },
  );

  await step(
    `${CONVERSATIONS} groups of bench-owner and bench-peer, ${MESSAGES_PER_SMALL_CONVERSATION} messages each`,
    async () => {
      await admin.query(
        `insert into public.conversations (kind, title, created_by, created_at, member_count, last_seq, last_change,
                                         last_message_at)
       select 'group', 'Group ' || g, $1, now() - interval '30 days', 2, $2, $2, now() - g * interval '1 minute'
         from generate_series(1, $3::int) g`,
        [ownerId, MESSAGES_PER_SMALL_CONVERSATION, CONVERSATIONS],
      );
      await admin.query(
        `insert into public.conversation_members (conversation_id, user_id, role, joined_at, last_read_seq, last_delivered_seq)
       select c.id, u.id, case when u.id = $1 then 'owner' else 'member' end, c.created_at,
              (abs(hashtext(c.id::text)) % ($3::int + 1))::bigint, $3
         from public.conversations c cross join (values ($1::uuid), ($2::uuid)) u (id)
        where c.created_by = $1`,
        [ownerId, peerId, MESSAGES_PER_SMALL_CONVERSATION],
      );
      await admin.query(
        `insert into public.messages (conversation_id, seq, change_seq, sender_id, client_id, body, created_at)
       select c.id, s, s, case when s % 2 = 0 then $1::uuid else $2::uuid end, c.id::text || ':' || s,
              'small talk number ' || s, c.last_message_at - ($3::int - s) * interval '1 second'
         from public.conversations c cross join generate_series(1, $3::int) s
        where c.created_by = $1`,
        [ownerId, peerId, MESSAGES_PER_SMALL_CONVERSATION],
      );
      await admin.query(
        `update public.conversations c
          set last_message_id = m.id, last_message_sender_id = m.sender_id, last_message_preview = m.body
         from public.messages m
        where m.conversation_id = c.id and m.seq = c.last_seq and c.created_by is not null`,
      );
    },
  );

  const { rows: big } = await admin.query<{ id: string }>(
    `insert into public.conversations (kind, title, created_by, created_at, member_count, last_message_at)
     values ('group', 'The big room', $1, now() - interval '1 year', 2, now())
     returning id`,
    [ownerId],
  );
  const bigId = big[0]?.id as string;
  await admin.query(
    `insert into public.conversation_members (conversation_id, user_id, role, last_read_seq, last_delivered_seq)
     values ($1, $2, 'owner', $4, $4), ($1, $3, 'member', 0, 0)`,
    [bigId, ownerId, peerId, BIG_MESSAGES],
  );
  const started = performance.now();
  for (let from = 1; from <= BIG_MESSAGES; from += BATCH) {
    const to = Math.min(from + BATCH - 1, BIG_MESSAGES);
    await admin.query(
      `insert into public.messages (conversation_id, seq, change_seq, sender_id, client_id, body, created_at)
       select $1, g, g, case when g % 3 = 0 then $3::uuid else $2::uuid end, 'bulk:' || g,
              'message ' || g || ' about ' || ($6::text[])[1 + g % 10] || ' and ' || ($6::text[])[1 + (g / 10) % 10],
              now() - interval '1 year' + g * interval '10 seconds'
         from generate_series($4::bigint, $5::bigint) g`,
      [bigId, ownerId, peerId, from, to, WORDS],
    );
    const rate = to / (elapsed(started) / 1000);
    console.log(
      `  the big room: ${to.toLocaleString('en')} / ${BIG_MESSAGES.toLocaleString('en')} messages (${Math.round(rate).toLocaleString('en')}/s)`,
    );
  }
  await step('the big room: cursors and newest message', () =>
    admin.query(
      `update public.conversations c
          set last_seq = m.seq, last_change = m.change_seq, last_message_id = m.id,
              last_message_sender_id = m.sender_id, last_message_preview = m.body, last_message_at = m.created_at
         from public.messages m
        where c.id = $1 and m.conversation_id = $1 and m.seq = $2`,
      [bigId, BIG_MESSAGES],
    ),
  );
  await admin.query('set session_replication_role = origin');
  // The benchmark sends many messages from one user: lift the rate limits.
  await admin.query(`update private.rate_limit_rules set capacity = 1000000, refill_per_second = 1000000`);
  await step('vacuum analyze', () => admin.query('vacuum analyze'));
  return { ownerId, peerId, bigId };
}

function hotPaths(fixture: Fixture): HotPath[] {
  const { bigId } = fixture;
  return [
    {
      name: 'send_message',
      about:
        'a new message into the conversation of 1,000,000 (locks the conversation row, numbers it, inserts, ' +
        'marks it read for the sender, emits message.created, receipt and inbox.updated)',
      sql: `select public.send_message($1, $2, $3) -> 'message' -> 'seq' as seq`,
      params: (run) => [bigId, `bench-${run}-${Date.now()}`, `benchmark message ${run}`],
    },
    {
      name: 'list_inbox',
      about: 'the first page (50) of an inbox of 1,001 conversations, among 201,001',
      sql: `select conversation_id, unread_count from public.list_inbox()`,
      params: () => [],
    },
    {
      name: 'list_inbox (page 10)',
      about: 'a later page, after a cursor',
      sql: `select conversation_id from public.list_inbox($1, 50)`,
      params: () => [fixture.inboxCursor],
    },
    {
      name: 'get_messages',
      about: 'the newest 50 of 1,000,000 messages',
      sql: `select seq from public.get_messages($1)`,
      params: () => [bigId],
    },
    {
      name: 'get_messages (before_seq)',
      about: '50 messages from the middle of the history',
      sql: `select seq from public.get_messages($1, before_seq => $2)`,
      params: (run) => [bigId, 500_000 - run * 50],
    },
    {
      name: 'sync_conversation',
      about: 'catch-up after missing the last 100 changes',
      sql: `select public.sync_conversation($1, $2) -> 'cursor' as cursor`,
      params: () => [bigId, fixture.lastChange - 100],
    },
    {
      name: 'search_messages',
      about:
        'full text over everything the caller may read (rate-limited, so not a hot path, shown for its index)',
      sql: `select id from public.search_messages('foxtrot juliet', max_rows => 20)`,
      params: () => [],
    },
  ];
}

/** Runs `work` as the user inside a transaction, as PostgREST does, and commits. */
async function asUser<T>(client: pg.Client, userId: string, work: () => Promise<T>): Promise<T> {
  await client.query('begin');
  try {
    await client.query(
      `select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`,
      [JSON.stringify({ sub: userId, role: 'authenticated', aud: 'authenticated' })],
    );
    const result = await work();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

function summarizePlans(plans: string[]) {
  const used = new Set<string>();
  const seqScans = new Set<string>();
  for (const plan of plans) {
    for (const [, index] of plan.matchAll(/Index (?:Only )?Scan(?: Backward)? using (\S+)/g))
      used.add(index as string);
    for (const [, index] of plan.matchAll(/Bitmap Index Scan on (\S+)/g)) used.add(index as string);
    for (const [, table] of plan.matchAll(/Seq Scan on (?:\w+\.)?(\w+)/g)) {
      if (CHAT_TABLES.includes(table as string)) seqScans.add(table as string);
    }
  }
  return { used: [...used].sort(), seqScans: [...seqScans].sort() };
}

async function measure(admin: pg.Client, fixture: Fixture, path: HotPath) {
  console.log(`\n━━ ${path.name} ━━ ${path.about}`);

  // Times: repeated calls, as an application makes them (PL/pgSQL caches plans after a few).
  const times: number[] = [];
  for (let run = 1; run <= TIMED_RUNS; run++) {
    await asUser(admin, fixture.ownerId, async () => {
      const callStarted = performance.now();
      await admin.query(path.sql, path.params(run));
      times.push(elapsed(callStarted));
    });
  }
  times.sort((a, b) => a - b);

  // Plans, after those calls: the call, then every statement inside it (auto_explain, nested).
  const notices: string[] = [];
  const onNotice = (notice: { message?: string }) => {
    if (notice.message?.includes('Query Text:') || notice.message?.startsWith('duration:'))
      notices.push(notice.message);
  };
  admin.on('notice', onNotice);
  await admin.query(`set auto_explain.log_min_duration = 0`);
  await admin.query(`set client_min_messages = log`);
  let topPlan = '';
  const started = performance.now();
  await asUser(admin, fixture.ownerId, async () => {
    const { rows } = await admin.query<{ 'QUERY PLAN': string }>(
      `explain (analyze, buffers, costs off) ${path.sql}`,
      path.params(TIMED_RUNS + 1),
    );
    topPlan = rows.map((row) => row['QUERY PLAN']).join('\n');
  });
  const explainedMs = elapsed(started);
  await admin.query(`set auto_explain.log_min_duration = -1`);
  await admin.query(`set client_min_messages = notice`);
  admin.off('notice', onNotice);

  console.log(
    `time: median ${ms(percentile(times, 50))}, p95 ${ms(percentile(times, 95))}, min ${ms(times[0] as number)}, ` +
      `max ${ms(times.at(-1) as number)} over ${TIMED_RUNS} calls` +
      ` (then the EXPLAIN ANALYZE call with auto_explain took ${ms(explainedMs)})`,
  );
  console.log('\nEXPLAIN (ANALYZE, BUFFERS) of the call:');
  console.log(indent(topPlan));
  const inner = notices.filter((plan) => !plan.includes('explain (analyze'));
  // Statements a function runs once per row (e.g. per inbox entry) are shown once, with their count.
  const byText = new Map<string, { plan: string; count: number }>();
  for (const plan of inner) {
    const text = /Query Text: ([^\n]*)/.exec(plan)?.[1] ?? plan;
    const seen = byText.get(text);
    if (seen) seen.count++;
    else byText.set(text, { plan, count: 1 });
  }
  console.log(
    `\nPlans of the ${inner.length} statements it ran (auto_explain, nested), each distinct one once:`,
  );
  for (const { plan, count } of byText.values()) {
    console.log(indent(cleanPlan(plan) + (count > 1 ? `\n(run ${count} times)` : '')));
  }
  const { used, seqScans } = summarizePlans(inner);
  console.log(`\nindexes used: ${used.join(', ') || 'none'}`);
  console.log(`sequential scans of chat tables: ${seqScans.join(', ') || 'none'}`);
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
const cleanPlan = (text: string) =>
  text
    .replace(/^duration: [\d.]+ ms\s+plan:\n?/, '')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .join('\n');

const logger = createLogger('bench');
const totalStarted = performance.now();
await withDatabaseForTests({ log: logger }, async (db) => {
  if (!db.adminUrl)
    throw new Error('the benchmark needs a superuser connection (for bulk loading and auto_explain)');
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    const loaded = await fill(admin);
    const { rows: cursorRows } = await admin.query<{ last_change: string }>(
      'select last_change from public.conversations where id = $1',
      [loaded.bigId],
    );
    const lastChange = Number(cursorRows[0]?.last_change);
    // Page 10 of the inbox starts after the 450th entry: walk there with list_inbox itself.
    const inboxCursor = await asUser(admin, loaded.ownerId, async () => {
      let cursor: string | null = null;
      for (let pages = 0; pages < 3; pages++) {
        const page: pg.QueryResult<{ cursor: string }> = await admin.query(
          'select cursor from public.list_inbox($1, 150)',
          [cursor],
        );
        cursor = page.rows.at(-1)?.cursor ?? null;
      }
      return cursor as string;
    });
    // auto_explain: the plans of the statements inside the functions, sent to this client.
    await admin.query(`load 'auto_explain'`);
    await admin.query(`set auto_explain.log_min_duration = -1`);
    await admin.query(`set auto_explain.log_analyze = on`);
    await admin.query(`set auto_explain.log_buffers = on`);
    await admin.query(`set auto_explain.log_timing = on`);
    await admin.query(`set auto_explain.log_nested_statements = on`);
    await admin.query(`set auto_explain.log_triggers = on`);
    const withCursors: Fixture = { ...loaded, inboxCursor, lastChange };
    for (const path of hotPaths(withCursors)) await measure(admin, withCursors, path);
  } finally {
    await admin.end();
  }
});
console.log(`\ndone in ${((performance.now() - totalStarted) / 1000).toFixed(0)} s`);
