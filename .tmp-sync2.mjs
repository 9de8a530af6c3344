import { readFileSync } from 'node:fs';
import { hash, verify, verifySync } from '@node-rs/argon2';
const mainCpu = () => { const s = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'); const f = s.slice(s.lastIndexOf(')') + 2).split(' '); return (Number(f[11]) + Number(f[12])) * 10; };
const opts = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const stored = await hash('pw', opts);
const n = 200;
let c0 = mainCpu(); let w = 0;
for (let i = 0; i < n; i++) { const a = performance.now(); const p = verify(stored, 'pw'); w += performance.now() - a; await p; }
console.log('async verify: main-thread CPU ms each', ((mainCpu() - c0) / n).toFixed(2), 'sync-call wall ms', (w / n).toFixed(3));
c0 = mainCpu(); const t = performance.now();
for (let i = 0; i < 50; i++) verifySync(stored, 'pw');
console.log('verifySync: CPU ms each', ((mainCpu() - c0) / 50).toFixed(2), 'wall', ((performance.now() - t) / 50).toFixed(2));
