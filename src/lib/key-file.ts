import { closeSync, constants, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const KEY_BYTES = 32;

/**
 * Returns the first (encrypting) 32-byte key stored (base64) in `path`, creating the file with mode 0600 if it does not exist.
 * Creation is atomic: the key is written to a private temporary file (opened 'wx', 0o600) and hard-linked into
 * place, so a concurrent process either wins the link or reads the complete winner's key — never a half-written file.
 * Throws an Error if the file is group/world accessible (chmod 600) or does not hold exactly 32 base64 bytes.
 * @example const key = loadOrCreateKeyFile('production_crew.db.key');
 */
export function loadOrCreateKeyFile(path: string): Buffer {
  try {
    createKeyFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new Error(`Could not create the encryption key file ${path}`, { cause: error });
    }
  }
  return readKeyFile(path)[0]!;
}

function createKeyFile(path: string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    writeSync(fd, `${randomBytes(KEY_BYTES).toString('base64')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temporary, path); // fails with EEXIST if another process (or an earlier run) already made the file
  } finally {
    unlinkSync(temporary);
  }
}

/**
 * Reads every key in the key file: one base64 32-byte key per line, the first encrypts and all decrypt (a second line
 * is how a key file rotates, like a CREW_ENCRYPTION_KEY list). Blank lines and `#` comments are ignored.
 * @example readKeyFile('production_crew.db.key') // [Buffer(32)] or [newKey, oldKey] during a rotation
 */
export function readKeyFile(path: string): Buffer[] {
  const stats = statSync(path);
  // A key readable by others defeats encryption at rest (OWASP ASVS 6.4.1); refuse rather than warn.
  if (process.platform !== 'win32' && (stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(3, '0');
    throw new Error(
      `The encryption key file ${path} has mode ${mode}, so other users can read it; run: chmod 600 ${JSON.stringify(path)}`,
    );
  }
  const lines = readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines.length === 0) throw new Error(`The encryption key file ${path} must hold ${KEY_BYTES} bytes in base64 (it is empty)`);
  return lines.map((text, index) => {
    const key = Buffer.from(text, 'base64');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || key.length !== KEY_BYTES) {
      const which = lines.length > 1 ? ` on key line ${index + 1}` : '';
      throw new Error(`The encryption key file ${path} must hold ${KEY_BYTES} bytes in base64${which} (it holds ${key.length})`);
    }
    return key;
  });
}
