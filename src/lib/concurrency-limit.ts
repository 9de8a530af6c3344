import { availableParallelism } from 'node:os';

/** A first-in, first-out cap on how many asynchronous tasks run at once. */
export interface ConcurrencyLimit {
  /** Runs `task` once fewer than `max` tasks are running, in the order `run` was called; settles as the task does. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** The cap. */
  readonly max: number;
  /** Tasks running now. */
  readonly inFlight: number;
  /** Tasks waiting for a slot. */
  readonly queued: number;
  /** Tasks started since the limit was made (a counter for tests and metrics). */
  readonly started: number;
}

/**
 * Makes a FIFO concurrency cap of `max` slots; `max` must be a positive integer (else TypeError).
 * @example const limit = createConcurrencyLimit(2); await limit.run(() => derive(password));
 */
export function createConcurrencyLimit(max: number): ConcurrencyLimit {
  if (!Number.isInteger(max) || max < 1) throw new TypeError('a concurrency limit needs a positive integer');
  // The waiting starts sit in an array read from `head`, so taking the oldest is O(1) without Array#shift.
  let waiting: Array<(() => void) | undefined> = [];
  let head = 0;
  let inFlight = 0;
  let started = 0;

  const release = (): void => {
    const next = waiting[head];
    if (next === undefined) {
      inFlight -= 1;
      return;
    }
    waiting[head] = undefined;
    head += 1;
    if (head > 1024 && head * 2 > waiting.length) {
      waiting = waiting.slice(head);
      head = 0;
    }
    next(); // the slot passes straight to the oldest waiter: inFlight stays the same
  };

  const start = <T>(task: () => Promise<T>): Promise<T> => {
    started += 1;
    let result: Promise<T>;
    try {
      result = Promise.resolve(task());
    } catch (error) {
      result = Promise.reject(error);
    }
    return result.finally(release);
  };

  return {
    max,
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiting.length - head;
    },
    get started() {
      return started;
    },
    run<T>(task: () => Promise<T>): Promise<T> {
      if (typeof task !== 'function') throw new TypeError('ConcurrencyLimit.run needs a function');
      if (inFlight < max) {
        inFlight += 1;
        return start(task);
      }
      return new Promise<T>((resolve, reject) => {
        waiting.push(() => start(task).then(resolve, reject));
      });
    },
  };
}

/**
 * The process-wide cap on key derivations (argon2id hashing and verifying, legacy PBKDF2 and scrypt): one per core
 * (`os.availableParallelism()`). Each argon2id call holds 19 MiB and a libuv pool thread, and the pool (4 threads by
 * default) also serves file-system and DNS work; more derivations than cores only share the CPU and add memory, so a
 * burst waits here in arrival order instead (see docs/PERFORMANCE.md, "KDF concurrency cap").
 */
export const kdfConcurrencyLimit: ConcurrencyLimit = createConcurrencyLimit(availableParallelism());
