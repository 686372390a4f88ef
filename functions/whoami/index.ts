// whoami: a diagnostic that proves the whole path — gateway, JWT verification,
// Deno, the database connection and the caller's identity inside Postgres.
// Answers with who the database thinks is calling.

import { verifyCaller } from '../_shared/auth.ts';
import { asCaller } from '../_shared/db.ts';
import { createHandler, json } from '../_shared/handler.ts';

export default createHandler('whoami', async (request) => {
  const caller = await verifyCaller(request);
  const [row] = await asCaller(
    caller,
    (sql) => sql`select auth.uid() as user_id, auth.role() as role, current_user as database_role`,
  );
  return json({
    user_id: row?.user_id ?? null,
    role: row?.role ?? null,
    database_role: row?.database_role ?? null,
  });
});
