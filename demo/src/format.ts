// Times and names as a chat shows them.

const timeOfDay = new Intl.DateTimeFormat(undefined, { hour: 'numeric', minute: '2-digit' });
const weekday = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const shortDate = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDate = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });

const startOfDay = (date: Date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
const DAY = 24 * 3600 * 1000;

/** For the conversation list: the time today, the weekday this week, else the date. */
export function listTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const days = (startOfDay(now) - startOfDay(date)) / DAY;
  if (days < 1) return timeOfDay.format(date);
  if (days < 7) return weekday.format(date);
  return shortDate.format(date);
}

export const messageTime = (iso: string) => timeOfDay.format(new Date(iso));

/** The heading between days of a conversation. */
export function dayLabel(iso: string, now = new Date()): string {
  const days = (startOfDay(now) - startOfDay(new Date(iso))) / DAY;
  if (days < 1) return 'Today';
  if (days < 2) return 'Yesterday';
  return longDate.format(new Date(iso));
}

export const sameDay = (a: string, b: string) => startOfDay(new Date(a)) === startOfDay(new Date(b));

/** "Ann", "Ann and Bo", "Ann, Bo and 2 others". */
export function listNames(names: string[]): string {
  if (names.length <= 2) return names.join(' and ');
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]}`;
  return `${names[0]}, ${names[1]} and ${names.length - 2} others`;
}
