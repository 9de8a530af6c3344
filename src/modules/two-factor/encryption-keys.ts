import type { SecretBox } from '../../lib/secret-box.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

/** One key id found in stored secrets (or configured), with how many secrets it encrypted. */
export interface KeyUsage {
  /** The key id (first 8 hex characters of the key's SHA-256); null for legacy plain secrets not yet encrypted. */
  keyId: string | null;
  secrets: number;
  /** The first configured key: new secrets are encrypted with it. */
  current: boolean;
  configured: boolean;
}

/** A key id that stored secrets use is not configured: start-up and rotation refuse (the message names where keys come from). */
export class MissingKeyError extends Error {
  override name = 'MissingKeyError';
  readonly code = 'encryption_key_missing';
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly missingKeyIds: readonly string[],
  ) {
    super(message);
  }
}

/**
 * Lists every key id that stored secrets use, plus configured keys that encrypt nothing (yet), current key first.
 * `configuredKeyIds` is empty when no key is available (a read-only look at a database whose key file is missing).
 * @example await keyUsage(new TwoFactorRepository(db), box.keyIds) // [{ keyId: 'ab12cd34', secrets: 12, current: true, configured: true }]
 */
export async function keyUsage(twoFactor: TwoFactorRepository, configuredKeyIds: readonly string[]): Promise<KeyUsage[]> {
  const counts = await twoFactor.countSecretsByKeyId();
  const usage: KeyUsage[] = configuredKeyIds.map((keyId, index) => ({
    keyId,
    secrets: counts.find((c) => c.keyId === keyId)?.count ?? 0,
    current: index === 0,
    configured: true,
  }));
  for (const { keyId, count } of counts) {
    if (keyId !== null && configuredKeyIds.includes(keyId)) continue;
    usage.push({ keyId, secrets: count, current: false, configured: keyId === null });
  }
  return usage;
}

/**
 * Refuses (MissingKeyError) when a stored secret was encrypted by a key that is not configured: the server would start
 * and then answer 500 to every TOTP sign-in of those users. `source` says where keys come from, for the message.
 * @example await assertKeysCoverSecrets(repo, box, 'the key file /srv/crew.db.key')
 */
export async function assertKeysCoverSecrets(twoFactor: TwoFactorRepository, box: SecretBox, source: string): Promise<void> {
  const missing = (await keyUsage(twoFactor, box.keyIds)).filter((u) => !u.configured && u.keyId !== null);
  if (missing.length === 0) return;
  const list = missing.map((u) => `${u.keyId} (${u.secrets} secret(s))`).join(', ');
  throw new MissingKeyError(
    `stored TOTP secrets are encrypted with key id ${list}, which ${source} does not hold (it has ${box.keyIds.join(', ')}). ` +
      `Restore the missing key: add it after the current one (key file: one base64 key per line; CREW_ENCRYPTION_KEY: a comma-separated list), then start again`,
    missing.map((u) => u.keyId!),
  );
}

/** Progress of {@link rotateSecrets}. */
export interface RotationProgress {
  /** Secrets not under the current key when the rotation started. */
  total: number;
  /** Re-encrypted so far. */
  done: number;
  /** Rows that changed while we worked (a re-enrolment): left as they are, since they are already under the current key. */
  skipped: number;
}

/**
 * Re-encrypts every stored secret that is not under the current (first) key, `batchSize` rows at a time, each row by
 * compare-and-swap so a running server's concurrent re-enrolment wins. Re-runnable: a second run finds nothing to do.
 * Refuses first (MissingKeyError) if a key in use is not configured, so it never stops half-way on an unreadable row.
 * @example await rotateSecrets(repo, box, 'CREW_ENCRYPTION_KEY', { batchSize: 500, onProgress: (p) => bar.update(p.done) })
 */
export async function rotateSecrets(
  twoFactor: TwoFactorRepository,
  box: SecretBox,
  source: string,
  options: { batchSize: number; onStart?: (total: number) => void; onProgress?: (progress: RotationProgress) => void },
): Promise<RotationProgress> {
  if (!Number.isSafeInteger(options.batchSize) || options.batchSize < 1) throw new TypeError('batchSize must be a positive integer');
  await assertKeysCoverSecrets(twoFactor, box, source);
  const total = (await keyUsage(twoFactor, box.keyIds)).filter((u) => !u.current).reduce((sum, u) => sum + u.secrets, 0);
  options.onStart?.(total);
  const progress: RotationProgress = { total, done: 0, skipped: 0 };
  let afterId = 0;
  for (;;) {
    const batch = await twoFactor.secretsNotUnderKey(box.currentKeyId, afterId, options.batchSize);
    if (batch.length === 0) break;
    for (const row of batch) {
      if (await twoFactor.reencryptSecret(row)) progress.done += 1;
      else progress.skipped += 1;
    }
    afterId = batch.at(-1)!.id;
    options.onProgress?.({ ...progress });
  }
  return progress;
}
