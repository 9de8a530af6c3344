/**
 * Says how long to wait in words people read at a glance, rounded up: "45 seconds", "1 minute", "15 minutes", "2 hours".
 * @example formatWait(900) // '15 minutes'
 */
export function formatWait(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (s < 60) return unit(s, 'second');
  if (s < 2 * 60 * 60) return unit(Math.ceil(s / 60), 'minute');
  if (s < 2 * 24 * 60 * 60) return unit(Math.ceil(s / 3600), 'hour');
  return unit(Math.ceil(s / 86400), 'day');
}

/** A moment as the pages show it: 'YYYY-MM-DD HH:MM:SS UTC'. */
export function formatUtc(at: Date): string {
  return `${at.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}
