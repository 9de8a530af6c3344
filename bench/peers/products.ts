// The two products under test, each driven only through its own public HTTP API: how to start it, how a user
// signs up and turns on TOTP, how a password sign-in and the second-factor step are sent.
import { join } from 'node:path';
import { CookieJar, PEER_DIR, peerRequire, postJson, type UndiciPool } from './http-client.ts';

/** A seeded user with TOTP turned on. */
export interface BenchUser {
  index: number;
  /** What the product's sign-in form takes: crew's username, Better Auth's e-mail address. */
  login: string;
  password: string;
  /** The TOTP secret in base32, as the product's otpauth:// URI gave it. */
  secretBase32: string;
}

/** How the benchmark drives one product. */
export interface Product {
  name: string;
  /** Node.js arguments (after `node`) that start the server on `port` with its database in `dir`. */
  serverArgs(dir: string, port: number): string[];
  /** Extra environment for the server process. */
  serverEnv(dir: string): Record<string, string>;
  /** Path and JSON body of a password sign-in (what autocannon sends). */
  signInRequest(user: BenchUser): { path: string; body: string };
  /** Headers every request to this product carries (Better Auth checks Origin on cookie-bearing POSTs). */
  headers(origin: string): Record<string, string>;
  /** Signs a new user up through the product's API and turns TOTP on with a code from `totpAt`. */
  seed(pool: UndiciPool, origin: string, index: number, totpAt: (secretBase32: string, at: Date) => string): Promise<BenchUser>;
  /** The password step: returns the jar holding the pending sign-in, after checking the product asked for the code. */
  beginSignIn(pool: UndiciPool, origin: string, user: BenchUser): Promise<CookieJar>;
  /** The second step with `code`: the HTTP status (200 = signed in). */
  verify(pool: UndiciPool, origin: string, jar: CookieJar, code: string): Promise<number>;
}

const ROOT = join(import.meta.dirname, '..', '..');

/** Every benchmark password: distinct per user, not a common password, and not containing the username. */
const passwordFor = (i: number) => `kettle-${i}-orange-harbour`;

function expect(ok: boolean, what: string, answer: unknown): void {
  if (!ok) throw new Error(`${what} failed: ${JSON.stringify(answer).slice(0, 300)}`);
}

/** The otpauth:// URI's secret in base32 (parsed by otpauth, not by either product). */
function secretOf(uri: string): string {
  const { URI } = peerRequire('otpauth') as { URI: { parse(uri: string): { secret: { base32: string } } } };
  return URI.parse(uri).secret.base32;
}

/** crew: its built CLI `dist/cli/bin.js serve`, SQLite in WAL mode (its default), the per-IP limit out of the way. */
export const crew: Product = {
  name: 'crew',
  serverArgs: (_dir, _port) => [join(ROOT, 'dist', 'cli', 'bin.js'), 'serve'],
  serverEnv: (dir) => ({
    DATABASE_URL: join(dir, 'crew.db'),
    CREW_AUTH_RATE_LIMIT: '1000000/second',
    // Better Auth logs no line per request; crew at its default `info` would log two.
    LOG_LEVEL: 'warn',
  }),
  signInRequest: (user) => ({ path: '/api/auth/login', body: JSON.stringify({ username: user.login, password: user.password }) }),
  headers: () => ({}),
  async seed(pool, _origin, index, totpAt) {
    const jar = new CookieJar();
    const user = { index, login: `bench${index}`, password: passwordFor(index) };
    const registered = await postJson(pool, '/api/auth/register', { username: user.login, password: user.password }, jar);
    expect(registered.status === 201, 'crew register', registered);
    const setup = await postJson(pool, '/api/2fa/setup', { password: user.password }, jar);
    expect(setup.status === 200, 'crew 2fa setup', setup);
    const secretBase32 = secretOf(String(setup.body.otpauthUri));
    const enabled = await postJson(pool, '/api/2fa/enable', { code: totpAt(secretBase32, new Date()) }, jar);
    expect(enabled.status === 200, 'crew 2fa enable', enabled);
    return { ...user, secretBase32 };
  },
  async beginSignIn(pool, _origin, user) {
    const jar = new CookieJar();
    const answer = await postJson(pool, '/api/auth/login', { username: user.login, password: user.password }, jar);
    expect(answer.status === 200 && answer.body.status === 'two_factor_required', 'crew sign-in', answer);
    return jar;
  },
  async verify(pool, _origin, jar, code) {
    return (await postJson(pool, '/api/auth/login/two-factor', { code }, jar)).status;
  },
};

/** Better Auth: bench/peers/better-auth/server.mjs (its documented email + password and two-factor set-up). */
export const betterAuth: Product = {
  name: 'Better Auth',
  serverArgs: (dir, port) => [join(PEER_DIR, 'server.mjs'), join(dir, 'better-auth.db'), String(port)],
  serverEnv: () => ({ NODE_ENV: 'production' }),
  signInRequest: (user) => ({ path: '/api/auth/sign-in/email', body: JSON.stringify({ email: user.login, password: user.password }) }),
  headers: (origin) => ({ origin }),
  async seed(pool, origin, index, totpAt) {
    const jar = new CookieJar();
    const headers = { origin };
    const user = { index, login: `bench${index}@example.test`, password: passwordFor(index) };
    const signedUp = await postJson(pool, '/api/auth/sign-up/email', { email: user.login, password: user.password, name: `bench${index}` }, jar, headers);
    expect(signedUp.status === 200, 'Better Auth sign-up', signedUp);
    const enabled = await postJson(pool, '/api/auth/two-factor/enable', { password: user.password }, jar, headers);
    expect(enabled.status === 200, 'Better Auth two-factor enable', enabled);
    const secretBase32 = secretOf(String(enabled.body.totpURI));
    // Better Auth turns TOTP on once a first code is verified (unless skipVerificationOnEnable), as crew does.
    const verified = await postJson(pool, '/api/auth/two-factor/verify-totp', { code: totpAt(secretBase32, new Date()) }, jar, headers);
    expect(verified.status === 200, 'Better Auth first TOTP verification', verified);
    return { ...user, secretBase32 };
  },
  async beginSignIn(pool, origin, user) {
    const jar = new CookieJar();
    const answer = await postJson(pool, '/api/auth/sign-in/email', { email: user.login, password: user.password }, jar, { origin });
    expect(answer.status === 200 && answer.body.twoFactorRedirect === true, 'Better Auth sign-in', answer);
    return jar;
  },
  async verify(pool, origin, jar, code) {
    return (await postJson(pool, '/api/auth/two-factor/verify-totp', { code }, jar, { origin })).status;
  },
};
