// Shared by the SQLite adapter (sqlite-adapter.ts) and the Kysely-free reader (sqlite-reader.ts), so that both say the
// same thing about a file they cannot open.

/** How long a SQLite writer waits for another process's lock before failing (ms). */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/** What an operator should read when a SQLite file cannot be opened: the cause and what to check. */
export function describeSqliteError(path: string, error: unknown): string {
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'SQLITE_CANTOPEN') return `cannot open SQLite database ${path}: the folder does not exist or is not writable`;
  if (code.startsWith('SQLITE_READONLY') || /readonly/i.test(message)) return `SQLite database ${path} is read-only: check the file's and its folder's permissions`;
  if (code === 'SQLITE_BUSY' || /locked/i.test(message)) return `SQLite database ${path} is locked by another process (waited ${SQLITE_BUSY_TIMEOUT_MS} ms)`;
  if (code === 'SQLITE_NOTADB' || /not a database/i.test(message)) return `${path} is not a SQLite database`;
  if (code === 'SQLITE_CORRUPT') return `SQLite database ${path} is corrupt: restore it from backups/`;
  return `cannot open SQLite database ${path}: ${message}`;
}
