// Writes src/modules/users/common-passwords.txt: the passwords of 8+ code points from zxcvbn-ts's ranked list of
// passwords seen in breaches (@zxcvbn-ts/language-common, a pinned dev dependency), one per line. The server reads this
// small text file instead of loading the package, whose compressed dictionaries cost ~19 MiB of resident memory to
// unpack (docs/PERFORMANCE.md). src/modules/users/password-policy.test.ts fails if the file and the package disagree.
// Run after upgrading the package: node scripts/common-passwords.mjs
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PASSWORD_MIN_LENGTH = 8; // src/modules/users/password-policy.ts
const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common');
const passwords = dictionary['passwords-common'].filter((p) => [...p].length >= PASSWORD_MIN_LENGTH);
if (passwords.some((p) => /[\r\n]/.test(p))) throw new Error('a listed password contains a line break');
const target = join(import.meta.dirname, '..', 'src', 'modules', 'users', 'common-passwords.txt');
writeFileSync(target, passwords.join('\n') + '\n');
console.log(`${target}: ${passwords.length} passwords`);
