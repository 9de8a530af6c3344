// The password-KDF floor, measured in its own process on the same cores with the same Node.js: how many raw
// verifications per second the KDF itself allows, with the product's own parameters and `inFlight` at once
// (the same concurrency as the sign-in load). No HTTP, no database: what a sign-in can at best approach.
// Usage: node kdf-baseline.mjs argon2id|scrypt SECONDS IN_FLIGHT ['{"memoryCost":…}'] — prints {"perSecond":…,"cpuMsEach":…}.
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [kind, secondsText, inFlightText, optionsJson] = process.argv.slice(2);
const seconds = Number(secondsText);
const inFlight = Number(inFlightText);
const password = 'kettle-1-orange-harbour';
let verify;
if (kind === 'argon2id') {
  // crew's KDF: @node-rs/argon2 from crew's own node_modules, with crew's ARGON2_OPTIONS (passed in as JSON).
  const argon2 = createRequire(join(import.meta.dirname, '..', '..', 'package.json'))('@node-rs/argon2');
  const stored = await argon2.hash(password, JSON.parse(optionsJson));
  verify = () => argon2.verify(stored, password);
} else if (kind === 'scrypt') {
  // Better Auth's KDF: its own hashPassword/verifyPassword (node:crypto scrypt, N=16384, r=16, p=1, 64 bytes).
  const { hashPassword, verifyPassword } = createRequire(join(import.meta.dirname, 'better-auth', 'package.json'))('@better-auth/utils/password');
  const stored = await hashPassword(password);
  verify = () => verifyPassword(stored, password);
} else {
  console.error('usage: node kdf-baseline.mjs argon2id|scrypt SECONDS IN_FLIGHT [OPTIONS_JSON]');
  process.exit(2);
}
if (!(await verify())) throw new Error('the baseline hash does not verify');
let done = 0;
const cpuBefore = process.cpuUsage();
const start = performance.now();
const deadline = start + seconds * 1000;
await Promise.all(Array.from({ length: inFlight }, async () => {
  while (performance.now() < deadline) {
    if (!(await verify())) throw new Error('verification failed');
    done++;
  }
}));
const elapsedSeconds = (performance.now() - start) / 1000;
const cpu = process.cpuUsage(cpuBefore);
console.log(JSON.stringify({ perSecond: done / elapsedSeconds, cpuMsEach: (cpu.user + cpu.system) / 1000 / done, verifications: done }));
