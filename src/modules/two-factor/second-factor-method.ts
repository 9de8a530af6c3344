import type { TwoFactorRecord } from './two-factor-record.ts';
import type { TwoFactorRepository } from './two-factor.repository.ts';

declare const reservedBrand: unique symbol;

/**
 * Proof that one attempt was counted against the account BEFORE anything was verified (OWASP ASVS 2.2.1): only
 * reserveAccountAttempt (second-factor-pipeline.ts) makes one, and every method needs one to verify anything.
 */
export interface ReservedAttempt {
  readonly userId: number;
  /** This attempt's place in the lockout cycle, 1..ACCOUNT_MAX_CONSECUTIVE_FAILURES. */
  readonly attemptNumber: number;
  /** Set when this attempt took the last slot: the lockout it imposed, which a verified code lifts again. */
  readonly imposedLockUntilMs: number | null;
  /** The row as the reservation left it: the secret, the last accepted step, the backup codes. */
  readonly record: TwoFactorRecord;
  /** The instant the attempt is judged at (one clock reading for the whole pipeline). */
  readonly at: Date;
  readonly [reservedBrand]: true;
}

/** What verifying and claiming a reserved attempt found. */
export type ClaimOutcome = { outcome: 'claimed'; backupCodesRemaining: number } | { outcome: 'invalid' } | { outcome: 'replayed' };

/**
 * One kind of second factor as a pipeline step: verify the normalised input against the reserved attempt's row and, if
 * right, claim it by compare-and-swap in the database so it is accepted once across every instance (the claim also
 * resets the attempt counters). Never throws for wrong input; throws {@link SecondFactorUnavailable} if it cannot even
 * start verifying.
 */
export interface SecondFactorMethod {
  verifyAndClaim(twoFactor: TwoFactorRepository, attempt: ReservedAttempt, code: string): Promise<ClaimOutcome>;
}

/**
 * The method could not start verifying for a reason that is not the user's (e.g. the key that encrypts the secret is
 * missing): the pipeline gives the reserved attempt back, so an operator error locks nobody out, and rethrows (a 5xx).
 */
export class SecondFactorUnavailable extends Error {
  override name = 'SecondFactorUnavailable';
}
