// Preload (`node --import …/count-sql.mjs SERVER.js …`) that counts the SQL statements a server executes through
// better-sqlite3, by kind, without touching the server's code: the same probe runs in crew and in Better Auth.
// On SIGUSR2 it writes the running totals as JSON to the file named by BENCH_SQL_COUNT_FILE, so the benchmark
// can take the difference around a phase and divide by the operations in it.
import { renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.BENCH_SQL_COUNT_FILE;
if (file && process.argv[1]) {
  // Resolve better-sqlite3 from the server's own script, so the copy it loads is the copy that is counted.
  const require = createRequire(pathToFileURL(process.argv[1]).href);
  const Database = require('better-sqlite3');
  const counts = { total: 0, select: 0, insert: 0, update: 0, delete: 0, transaction: 0, other: 0 };
  const tally = (sql) => {
    const verb = /^\s*(\w+)/.exec(String(sql))?.[1]?.toLowerCase() ?? '';
    const kind = verb === 'with' ? 'select' : ['begin', 'commit', 'rollback', 'savepoint', 'release'].includes(verb) ? 'transaction' : verb in counts && verb !== 'total' ? verb : 'other';
    counts[kind] += 1;
    counts.total += 1;
  };
  const probe = new Database(':memory:');
  const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = statementPrototype[method];
    statementPrototype[method] = function countedStatement(...args) {
      tally(this.source);
      return original.apply(this, args);
    };
  }
  const exec = Database.prototype.exec;
  Database.prototype.exec = function countedExec(sql) {
    tally(sql);
    return exec.call(this, sql);
  };
  // Written aside and renamed, so the reader never sees a half-written file.
  process.on('SIGUSR2', () => {
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), counts }));
    renameSync(`${file}.tmp`, file);
  });
}
