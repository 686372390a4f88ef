// pg_cron's schedules, for the emulator's scheduler: '<1-59> seconds', five cron
// fields (minute hour day-of-month month day-of-week, with *, lists, ranges and steps)
// evaluated in UTC as pg_cron does by default, and the @hourly … @yearly shorthands.

export type Schedule = { everySeconds: number } | { fields: Set<number>[]; restricted: [boolean, boolean] };

const SHORTHANDS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function parseField(text: string, [low, high]: [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
    if (!match) throw new Error(`invalid schedule field: ${text}`);
    const from = match[1] === '*' ? low : Number(match[2]);
    const to = match[1] === '*' ? high : match[3] !== undefined ? Number(match[3]) : match[4] ? high : from;
    const step = match[4] ? Number(match[4]) : 1;
    if (from < low || to > high || from > to || step < 1) throw new Error(`invalid schedule field: ${text}`);
    for (let value = from; value <= to; value += step) values.add(value);
  }
  return values;
}

export function parseSchedule(text: string): Schedule {
  const trimmed = text.trim().toLowerCase();
  const seconds = /^(\d+)\s+seconds?$/.exec(trimmed);
  if (seconds) {
    const everySeconds = Number(seconds[1]);
    if (everySeconds < 1 || everySeconds > 59) throw new Error(`invalid schedule: ${text}`);
    return { everySeconds };
  }
  const parts = (SHORTHANDS[trimmed] ?? trimmed).split(/\s+/);
  if (parts.length !== 5) throw new Error(`invalid schedule: ${text}`);
  const fields = parts.map((part, index) => parseField(part, RANGES[index] as [number, number]));
  const weekdays = fields[4] as Set<number>;
  if (weekdays.has(7)) weekdays.add(0); // 7 is Sunday too
  return { fields, restricted: [parts[2] !== '*', parts[4] !== '*'] };
}

/** Whether a cron schedule fires in the minute that `time` falls in (UTC). */
export function firesAt(schedule: Schedule, time: Date): boolean {
  if ('everySeconds' in schedule) return false;
  const [minutes, hours, days, months, weekdays] = schedule.fields as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  const dayOfMonth = days.has(time.getUTCDate());
  const dayOfWeek = weekdays.has(time.getUTCDay());
  // As in cron: when both day fields are restricted, either one matching is enough.
  const [daysRestricted, weekdaysRestricted] = schedule.restricted;
  const dayMatches = daysRestricted && weekdaysRestricted ? dayOfMonth || dayOfWeek : dayOfMonth && dayOfWeek;
  return (
    minutes.has(time.getUTCMinutes()) &&
    hours.has(time.getUTCHours()) &&
    months.has(time.getUTCMonth() + 1) &&
    dayMatches
  );
}
