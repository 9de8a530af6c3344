import { availableParallelism } from 'node:os';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createConcurrencyLimit, kdfConcurrencyLimit } from './concurrency-limit.ts';
import { hashSecret, verifySecret } from './password-hash.ts';
import { verifyWerkzeugHash } from './werkzeug-hash.ts';

/** A task the test finishes by hand, so the order of events never depends on timing. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('createConcurrencyLimit', () => {
  it('runs at most max tasks at once and starts the waiting ones in arrival order', async () => {
    const limit = createConcurrencyLimit(2);
    const gates = Array.from({ length: 6 }, () => deferred<number>());
    const startedOrder: number[] = [];
    const results = gates.map((gate, i) => limit.run(() => (startedOrder.push(i), gate.promise)));
    expect(startedOrder).toEqual([0, 1]);
    expect([limit.inFlight, limit.queued]).toEqual([2, 4]);

    gates[1]!.resolve(1); // a later task finishing first hands its slot to the oldest waiter
    await nextTurn();
    expect(startedOrder).toEqual([0, 1, 2]);
    gates[0]!.resolve(0);
    gates[2]!.resolve(2);
    await nextTurn();
    expect(startedOrder).toEqual([0, 1, 2, 3, 4]);
    expect([limit.inFlight, limit.queued]).toEqual([2, 1]);
    for (const i of [3, 4, 5]) gates[i]!.resolve(i);
    expect(await Promise.all(results)).toEqual([0, 1, 2, 3, 4, 5]);
    expect([limit.inFlight, limit.queued, limit.started]).toEqual([0, 0, 6]);
  });

  it('frees the slot when a task rejects or throws, and passes the error on', async () => {
    const limit = createConcurrencyLimit(1);
    const failing = limit.run(() => Promise.reject(new Error('derivation failed')));
    const throwing = limit.run(() => {
      throw new Error('sync throw');
    });
    const after = limit.run(async () => 'ran');
    await expect(failing).rejects.toThrow('derivation failed');
    await expect(throwing).rejects.toThrow('sync throw');
    await expect(after).resolves.toBe('ran');
    expect([limit.inFlight, limit.queued]).toEqual([0, 0]);
  });

  it('keeps order and the cap over a long queue', async () => {
    const limit = createConcurrencyLimit(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const tasks = Array.from({ length: 3000 }, (_, i) =>
      limit.run(async () => {
        order.push(i);
        peak = Math.max(peak, ++running);
        await nextTurn();
        running -= 1;
      }),
    );
    await Promise.all(tasks);
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 3000 }, (_, i) => i));
  });

  it('throws TypeError on misuse', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, '2']) expect(() => createConcurrencyLimit(bad as number)).toThrow(TypeError);
    expect(() => createConcurrencyLimit(1).run('task' as unknown as () => Promise<void>)).toThrow(TypeError);
  });
});

describe('kdfConcurrencyLimit: the cap on argon2id, PBKDF2 and scrypt', () => {
  it('is one slot per core', () => {
    expect(kdfConcurrencyLimit.max).toBe(availableParallelism());
  });

  it('serves waiting callers in arrival order', async () => {
    const gates = Array.from({ length: kdfConcurrencyLimit.max * 2 + 1 }, () => deferred());
    const startedOrder: number[] = [];
    const all = Promise.all(gates.map((gate, i) => kdfConcurrencyLimit.run(() => (startedOrder.push(i), gate.promise))));
    for (const [i, gate] of gates.entries()) {
      expect(startedOrder).toEqual(Array.from({ length: Math.min(i + kdfConcurrencyLimit.max, gates.length) }, (_, k) => k));
      gate.resolve();
      await nextTurn();
    }
    await all;
  });

  it('never lets more key derivations run than the cap, queues the rest, and finishes them all', async () => {
    const stored = await hashSecret('correct horse');
    const pbkdf2 = 'pbkdf2:sha256:1000$NaClNaClNaClNaCl$cb002f12393f1f92ff9c72055c62925d06756c18e7069077f7e167fdc769160f';
    const count = kdfConcurrencyLimit.max * 3 + 1;
    const startedBefore = kdfConcurrencyLimit.started;
    let done = false;
    const work = Promise.all([
      ...Array.from({ length: count }, (_, i) => (i % 2 === 0 ? verifySecret(stored, 'correct horse') : verifyWerkzeugHash(pbkdf2, 'pw'))),
      hashSecret('another one'),
    ]).finally(() => (done = true));
    // Sample the in-flight count on every turn of the event loop until everything has settled.
    let peak = 0;
    let peakQueued = 0;
    while (!done) {
      peak = Math.max(peak, kdfConcurrencyLimit.inFlight);
      peakQueued = Math.max(peakQueued, kdfConcurrencyLimit.queued);
      await nextTurn();
    }
    const results = await work;
    expect(results.slice(0, count).every(Boolean)).toBe(true);
    expect(results.at(-1)).toMatch(/^\$argon2id\$/);
    expect(peak).toBe(kdfConcurrencyLimit.max);
    expect(peakQueued).toBeGreaterThan(0);
    expect(kdfConcurrencyLimit.started - startedBefore).toBe(count + 1);
    expect([kdfConcurrencyLimit.inFlight, kdfConcurrencyLimit.queued]).toEqual([0, 0]);
  });
});
