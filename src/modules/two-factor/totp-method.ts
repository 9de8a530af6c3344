import type { SecondFactorMethod } from './second-factor-method.ts';
import { SecondFactorUnavailable } from './second-factor-method.ts';
import { matchTotp, TOTP_DRIFT_STEPS } from './totp.ts';

/**
 * The TOTP step of the pipeline: decrypt the secret, check the code against ±TOTP_DRIFT_STEPS steps, then claim the
 * matched time step by compare-and-swap on last_used_totp_step, so each step is accepted once per user across every
 * instance (RFC 6238 §5.2, OWASP ASVS 2.8.4). A right code for an already-accepted step is reported as 'replayed'.
 */
export const totpMethod: SecondFactorMethod = {
  async verifyAndClaim(twoFactor, attempt, code) {
    let secret: string;
    try {
      secret = twoFactor.revealSecret(attempt.record);
    } catch (error) {
      throw new SecondFactorUnavailable('the TOTP secret cannot be decrypted with the configured keys', { cause: error });
    }
    const { at, record } = attempt;
    const lastUsedStep = record.lastUsedTotpStep;
    // One pass over the window tells a fresh match from a right code for an already-accepted step (a replay).
    const { step, matchedAny } = matchTotp({ secret, code, at, window: TOTP_DRIFT_STEPS, lastUsedStep });
    if (step === null) return { outcome: matchedAny ? 'replayed' : 'invalid' };
    // The database decides: only one request (on any instance) advances last_used_totp_step to this step.
    if (!(await twoFactor.claimTotpStep(attempt.userId, step, at.getTime()))) return { outcome: 'replayed' };
    return { outcome: 'claimed', backupCodesRemaining: record.backupCodeHashes.length };
  },
};
