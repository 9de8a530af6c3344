/**
 * `YYYY-MM-DD`, optionally followed by ` HH:MM[:SS[.fraction]]` (space or `T`) and an offset (`Z`, `±HH`, `±HHMM`,
 * `±HH:MM`). Covers SQLite's CURRENT_TIMESTAMP, ISO 8601, PostgreSQL's text output and what the earlier Flask app
 * (SQLAlchemy / Python `str(datetime)`) wrote, e.g. '2024-01-01 10:00:00.123456+00:00'.
 */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function offsetMinutes(offset: string | undefined): number {
  if (!offset || offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return Number.NaN;
  return sign * (hours * 60 + minutes);
}

/**
 * Reads a `created_at` value as a Date, or null when it is absent or unreadable — never throws and never returns an
 * Invalid Date, so one odd legacy row cannot turn a status page into a 5xx. Accepts a Date (PostgreSQL timestamptz),
 * epoch milliseconds, and the text forms of {@link TIMESTAMP}; text without an offset is UTC (SQLite's CURRENT_TIMESTAMP).
 * @example parseDbTimestamp('2024-01-01 10:00:00+00:00') // 2024-01-01T10:00:00.000Z
 */
export function parseDbTimestamp(value: unknown): Date | null {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const date = new Date(Number(value));
    return Number.isNaN(date.getTime()) ? null : date;
  }
  if (typeof value !== 'string') return null;
  const match = TIMESTAMP.exec(value.trim());
  if (!match) return null;
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', offset] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 59) return null;
  const shift = offsetMinutes(offset);
  if (Number.isNaN(shift)) return null;
  const millis = Number(fraction.padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, millis) - shift * 60_000);
  return Number.isNaN(date.getTime()) ? null : date;
}
