import { describe, expect, it } from 'vitest';
import { parseDbTimestamp } from './db-timestamp.ts';

describe('parseDbTimestamp (created_at from SQLite, PostgreSQL and the earlier Flask app)', () => {
  it('reads SQLite CURRENT_TIMESTAMP text as UTC', () => {
    expect(parseDbTimestamp('2024-01-01 10:00:00')?.toISOString()).toBe('2024-01-01T10:00:00.000Z');
  });

  it('reads ISO 8601 and Python str(datetime) forms with offsets and fractions', () => {
    const cases: Array<[string, string]> = [
      ['2024-01-01 10:00:00+00:00', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01T10:00:00Z', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01T12:30:00+02:30', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01 05:00:00-05', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01 10:00:00+0000', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01 10:00:00.123456', '2024-01-01T10:00:00.123Z'],
      ['2024-01-01 10:00:00.5+00:00', '2024-01-01T10:00:00.500Z'],
      ['2024-01-01 10:00', '2024-01-01T10:00:00.000Z'],
      ['2024-01-01', '2024-01-01T00:00:00.000Z'],
    ];
    for (const [text, iso] of cases) expect(parseDbTimestamp(text)?.toISOString(), text).toBe(iso);
  });

  it('passes valid Date objects and epoch milliseconds through', () => {
    const date = new Date('2024-01-01T10:00:00Z');
    expect(parseDbTimestamp(date)).toBe(date);
    expect(parseDbTimestamp(date.getTime())?.toISOString()).toBe('2024-01-01T10:00:00.000Z');
  });

  it('answers null, never throws or returns an Invalid Date, for anything else', () => {
    for (const bad of [null, undefined, '', 'yesterday', '2024-13-01 00:00:00', '2024-02-30', '2024-01-01 24:00:00', '2024-01-01 10:00:00+25:00', new Date(Number.NaN), {}, true]) {
      expect(parseDbTimestamp(bad), String(bad)).toBeNull();
    }
  });
});
