import { execFileSync } from 'node:child_process';

// What Werkzeug's generate_password_hash stores (werkzeug/security.py, _hash_internal), computed by Python's hashlib so
// the expected values are independent of our TypeScript: `<method>$<salt>$<hex>`, salt used as UTF-8 text, pbkdf2 of
// digest size, scrypt with dklen 64 and maxmem 132·N·r·p.
const PYTHON = `
import hashlib, sys
password, method, salt = sys.argv[1:4]
kind, *params = method.split(':')
if kind == 'pbkdf2':
    digest, iterations = params
    value = hashlib.pbkdf2_hmac(digest, password.encode('utf-8'), salt.encode('utf-8'), int(iterations)).hex()
elif kind == 'scrypt':
    n, r, p = map(int, params)
    value = hashlib.scrypt(password.encode('utf-8'), salt=salt.encode('utf-8'), n=n, r=r, p=p, maxmem=132 * n * r * p, dklen=64).hex()
else:
    raise SystemExit('unknown method ' + method)
print(method + '$' + salt + '$' + value)
`;

/**
 * A Werkzeug password hash computed by /usr/bin/python3 (hashlib only; Debian package `python3`), e.g.
 * werkzeugHash('pw', 'pbkdf2:sha256:1000', 'NaClNaClNaClNaCl').
 */
export function werkzeugHash(password: string, method: string, salt: string): string {
  try {
    return execFileSync('/usr/bin/python3', ['-c', PYTHON, password, method, salt], { encoding: 'utf8' }).trim();
  } catch (error) {
    throw new Error(`computing a Werkzeug test vector needs /usr/bin/python3 (Debian package python3): ${(error as Error).message}`);
  }
}
