// What the chaos suite runs: `npm test` a fixed seed and a few hundred messages
// (the same schedule every time), `npm run test:chaos` 2,000 messages, and any
// other run CHAOS_SEED and CHAOS_MESSAGES.

/** The seed `npm test` runs the chaos suite with. */
export const CI_SEED = 13;
/** Messages sent in `npm test`: a couple of minutes on a 2-core machine. */
export const CI_MESSAGES = 300;

function positiveInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive whole number, not ${text}`);
  return value;
}

export const seed = positiveInteger('CHAOS_SEED', CI_SEED);
export const total = positiveInteger('CHAOS_MESSAGES', CI_MESSAGES);
