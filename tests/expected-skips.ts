// The only tests the suites may skip, and why; `npm test` counts these under their
// reason and fails a suite for any other test that did not run (scripts/judge.ts).
//
// End to end: a test opts in with a tag (`it('…', { tags: ['emulator-only'] }, …)`,
// or on its describe), and Vitest skips the tests of a tag whose `skip` holds in
// this run (vitest.config.ts).
// pgTAP: a file skips with `select skip(reason, n)`, and the skip is expected when
// its reason starts with one declared here for this database.

import type { TestTagDefinition } from 'vitest/config';

/** The suites run against a real project when all four are set (see global-setup.ts). */
export function targetsRealProject(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    env.SUPABASE_URL && env.SUPABASE_ANON_KEY && env.SUPABASE_SERVICE_ROLE_KEY && env.SUPABASE_DB_URL,
  );
}

export function testTags(env: NodeJS.ProcessEnv): (TestTagDefinition & { skip: boolean })[] {
  const realProject = targetsRealProject(env);
  return [
    {
      name: 'emulator-only',
      description:
        'emulator-only: behaviour of the emulator itself (its gateway limits, tokens signed with its key, its processes)',
      skip: realProject,
    },
    {
      name: 'twilio',
      description: 'twilio: TWILIO_AUTH_TOKEN is not set for the project',
      // The emulator configures a token of its own.
      skip: realProject && !env.TWILIO_AUTH_TOKEN,
    },
  ];
}

/** Tag → reason, for the tags whose end-to-end tests this run skips. */
export function expectedSkips(env: NodeJS.ProcessEnv): Map<string, string> {
  return new Map(
    testTags(env)
      .filter((tag) => tag.skip)
      .map((tag) => [tag.name, tag.description as string]),
  );
}

/**
 * The reasons (their beginnings) for which pgTAP tests may be skipped, in a database
 * where the tests have the superuser or not (a Supabase project gives none).
 */
export function expectedPgtapSkips(hasSuperuser: boolean): string[] {
  return hasSuperuser ? [] : ['dropping a partition needs the superuser'];
}

declare module 'vitest' {
  interface TestTags {
    tags: 'emulator-only' | 'twilio';
  }
}
