import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshHeartbeats, HEARTBEAT_STALE_AFTER_MS, HEARTBEAT_TABLE, startHeartbeat } from '../../src/migrate/heartbeat.ts';
import { MigrationRunner } from '../../src/migrate/migration-runner.ts';
import { createMigratedDatabase, TEST_DIALECTS, type TestDatabase } from '../helpers/test-database.ts';
import type { OpenDatabase } from '../../src/db/open-database.ts';

// Issue 11: `crew migrate 2fa --rollback` while a server ran made every sign-in answer 500 ("no such table").
// Threat: an operator drops tables from under live requests. Each server keeps a heartbeat row; a rollback
// refuses while a fresh one exists, naming the servers, unless --force. Without the check, the first
// expectation below (refused) fails.

describe.each(TEST_DIALECTS)('server heartbeats and rollback on %s', (kind) => {
  let test: TestDatabase & { open: OpenDatabase };
  let clock: Date;
  beforeEach(async () => {
    test = await createMigratedDatabase(kind);
    clock = new Date('2026-03-01T10:00:00.000Z');
  });
  afterEach(async () => {
    await test.cleanup();
  });
  const runner = () => new MigrationRunner(test.open, { backup: false, now: () => clock });
  const columns = (t: string) => test.open.adapter.columnsOf(test.open.db, t);

  it('refuses a rollback while a server is running, naming it; --force overrides', async () => {
    const beat = await startHeartbeat(test.open.db, { now: () => clock, host: 'web-1', pid: 4242 });
    try {
      await expect(runner().rollback('sessions')).rejects.toThrow(
        'refusing to roll back sessions: 1 crew server(s) are using this database (host web-1, pid 4242, started 2026-03-01T10:00:00.000Z). Stop them first, or pass --force if you are sure.',
      );
      expect(await columns('sessions')).not.toBeNull();
      // A dry run changes nothing, so it is allowed.
      expect((await runner().rollback('sessions', { dryRun: true })).ok).toBe(true);
      const forced = await runner().rollback('sessions', { force: true });
      expect(forced.ok).toBe(true);
      expect(forced.lines).toContain('! rolling back while 1 crew server(s) use this database (--force)');
    } finally {
      await beat.stop();
    }
  });

  it('a server that stopped cleanly removes its row; one that died goes stale and no longer counts', async () => {
    const clean = await startHeartbeat(test.open.db, { now: () => clock, host: 'web-1', pid: 1 });
    await clean.stop();
    expect(await freshHeartbeats(test.open.db, columns, clock)).toEqual([]);

    await startHeartbeat(test.open.db, { now: () => clock, host: 'web-2', pid: 2 }); // never stopped: "killed"
    clock = new Date(clock.getTime() + HEARTBEAT_STALE_AFTER_MS - 1);
    expect((await freshHeartbeats(test.open.db, columns, clock)).map((s) => s.host)).toEqual(['web-2']);
    clock = new Date(clock.getTime() + 1);
    expect(await freshHeartbeats(test.open.db, columns, clock)).toEqual([]);
    expect((await runner().rollback('sessions')).ok).toBe(true);
    // The next server to start removes the dead one's stale row.
    const next = await startHeartbeat(test.open.db, { now: () => clock, host: 'web-3', pid: 3 });
    const rows = await (test.open.db as unknown as Kysely<any>).selectFrom(HEARTBEAT_TABLE).select('host').execute();
    expect(rows.map((r) => r.host)).toEqual(['web-3']);
    await next.stop();
  });

  it('each beat moves the row forward, and puts it back if someone deleted it', async () => {
    const beat = await startHeartbeat(test.open.db, { now: () => clock, host: 'web-1', pid: 1 });
    try {
      clock = new Date(clock.getTime() + 50_000);
      await beat.beat();
      clock = new Date(clock.getTime() + 50_000);
      expect(await freshHeartbeats(test.open.db, columns, clock)).toHaveLength(1);
      await (test.open.db as unknown as Kysely<any>).deleteFrom(HEARTBEAT_TABLE).execute();
      await beat.beat();
      expect((await freshHeartbeats(test.open.db, columns, clock)).map((s) => s.id)).toEqual([beat.id]);
    } finally {
      await beat.stop();
    }
  });
});
