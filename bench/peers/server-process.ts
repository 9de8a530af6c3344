// Starts a product's server as its own Node.js process (with the SQL-counting preload), waits until it listens,
// and reads its statement counts on demand.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Product } from './products.ts';

/** SQL statements executed so far, by kind (see count-sql.mjs). */
export type SqlCounts = Record<'total' | 'select' | 'insert' | 'update' | 'delete' | 'transaction' | 'other', number>;

/** A running server under test. */
export interface ServerProcess {
  pid: number;
  origin: string;
  /** Asks the server for its running SQL totals (SIGUSR2) and waits for the answer. */
  sqlCounts(): Promise<SqlCounts>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server not ready after ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (pattern.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
}

/** Starts `product` with its database in `dir` (and `nodeFlags` for Node.js); resolves once it prints that it is listening. */
export async function startServer(product: Product, dir: string, nodeFlags: readonly string[] = []): Promise<ServerProcess> {
  const port = await freePort();
  const countFile = join(dir, `${product.name.replace(/\W+/g, '-')}-sql.json`);
  const preload = pathToFileURL(join(import.meta.dirname, 'count-sql.mjs')).href;
  const child = spawn(process.execPath, [...nodeFlags, '--import', preload, ...product.serverArgs(dir, port)], {
    cwd: dir,
    env: { ...process.env, ...product.serverEnv(dir), PORT: String(port), HOST: '127.0.0.1', BENCH_SQL_COUNT_FILE: countFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /listening on/i, 60_000);
  child.stdout!.resume();
  child.stderr!.on('data', (chunk: Buffer) => process.stderr.write(`[${product.name}] ${chunk}`));
  return {
    pid: child.pid!,
    origin: `http://127.0.0.1:${port}`,
    async sqlCounts() {
      const since = Date.now();
      child.kill('SIGUSR2');
      for (let waited = 0; waited < 10_000; waited += 20) {
        if (existsSync(countFile)) {
          const { at, counts } = JSON.parse(readFileSync(countFile, 'utf8')) as { at: number; counts: SqlCounts };
          if (at >= since) return counts;
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`${product.name} did not report its SQL counts`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The difference of two SQL snapshots divided by `operations` (statements per operation, by kind). */
export function sqlPerOperation(before: SqlCounts, after: SqlCounts, operations: number): SqlCounts {
  const per = {} as SqlCounts;
  for (const key of Object.keys(after) as Array<keyof SqlCounts>) per[key] = operations > 0 ? (after[key] - before[key]) / operations : NaN;
  return per;
}
