// The only tests the end-to-end suites may skip, and why. A test opts in with a
// tag (`it('…', { tags: ['emulator-only'] }, …)`, or on its describe); Vitest
// skips the tests of a tag whose `skip` holds in this run (vitest.config.ts), and
// `npm test` counts them under the tag's reason and fails the suite for any
// other test that did not run (scripts/judge.ts).

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

/** Tag → reason, for the tags whose tests this run skips. */
export function expectedSkips(env: NodeJS.ProcessEnv): Map<string, string> {
  return new Map(
    testTags(env)
      .filter((tag) => tag.skip)
      .map((tag) => [tag.name, tag.description as string]),
  );
}

declare module 'vitest' {
  interface TestTags {
    tags: 'emulator-only' | 'twilio';
  }
}
