import { MigrationLockTimeoutError, type MigrationLockOptions } from './engine-adapter.ts';

/** How long a waiting runner sleeps at most between two tries for the migration lock (ms). */
export const LOCK_POLL_MAX_DELAY_MS = 250;

/** Default of {@link MigrationLockOptions.timeoutMs}. */
export const DEFAULT_LOCK_TIMEOUT_MS = 120_000;

/** One try for a lock: taken (with what the taker needs) or busy (with who holds it). */
export type LockAttempt<T> = { taken: true; value: T } | { taken: false; holder: string };

/**
 * Tries `attempt` until it takes the lock, sleeping 25 ms doubling to 250 ms between tries; calls
 * `onWait` once when waiting starts and throws MigrationLockTimeoutError (naming the holder and `where`) at the deadline.
 */
export async function pollForLock<T>(attempt: () => Promise<LockAttempt<T>>, options: MigrationLockOptions, where: string): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let waiting = false;
  for (;;) {
    const result = await attempt();
    if (result.taken) return result.value;
    if (!waiting) options.onWait?.(result.holder);
    waiting = true;
    if (Date.now() > deadline) throw new MigrationLockTimeoutError(`another migration runner (${result.holder}) holds the lock on ${where}; gave up after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, LOCK_POLL_MAX_DELAY_MS);
  }
}
