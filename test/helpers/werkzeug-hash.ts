import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** /usr/bin/python3: Debian's, with python3-werkzeug 2.2.2, python3-flask-sqlalchemy, python3-pyotp and python3-psycopg2. */
export const DEBIAN_PYTHON = '/usr/bin/python3';
const VECTORS = fileURLToPath(new URL('../fixtures/flask/werkzeug_vectors.py', import.meta.url));

/** What test/fixtures/flask/werkzeug_vectors.py answers. */
export interface WerkzeugAnswer {
  werkzeug: string;
  hash: string[];
  check: boolean[];
  documented: string[];
}

/** One request to werkzeug: hashes to make `[password, method, salt]`, checks to run `[pwhash, password]`. */
export interface WerkzeugRequest {
  hash?: Array<[password: string, method: string, salt: string]>;
  check?: Array<[pwhash: string, password: string]>;
  documented?: Array<[password: string, method: string, salt: string]>;
}

const SPAWN = {
  encoding: 'utf8',
  env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
  maxBuffer: 64 * 1024 * 1024,
  timeout: 600_000, // generous: a loaded shared machine can starve Python for minutes
} as const;
const failure = (error: unknown) => new Error(`asking werkzeug needs /usr/bin/python3 with Debian's python3-werkzeug: ${(error as Error).message}`, { cause: error });

/**
 * Asks the real werkzeug (Debian's python3-werkzeug 2.2.2, run by /usr/bin/python3) in one process: hashes made by
 * werkzeug's own `_hash_internal` (scrypt, which 2.2.2 predates, by werkzeug 3's documented algorithm) and verdicts of
 * its `check_password_hash`, so expected values never come from our TypeScript.
 */
export async function askWerkzeug(request: WerkzeugRequest): Promise<WerkzeugAnswer> {
  try {
    const child = promisify(execFile)(DEBIAN_PYTHON, ['-B', VECTORS], SPAWN);
    child.child.stdin!.end(JSON.stringify(request));
    return JSON.parse((await child).stdout) as WerkzeugAnswer;
  } catch (error) {
    throw failure(error);
  }
}

/**
 * A werkzeug password hash of `password` with `method` and a fixed `salt` (use '' for `plain` and the unsalted forms),
 * made synchronously by the real werkzeug, e.g. werkzeugHash('pw', 'pbkdf2:sha256:1000', 'NaClNaClNaClNaCl').
 */
export function werkzeugHash(password: string, method: string, salt: string): string {
  try {
    const out = execFileSync(DEBIAN_PYTHON, ['-B', VECTORS], { ...SPAWN, input: JSON.stringify({ hash: [[password, method, salt]] }) });
    return (JSON.parse(out) as WerkzeugAnswer).hash[0]!;
  } catch (error) {
    throw failure(error);
  }
}
