import type { AppDeps } from '../deps.ts';
import { deriveSessionIdKey } from '../modules/sessions/session-listing.ts';
import { PasskeyService } from '../modules/passkeys/passkey.service.ts';
import { SessionService } from '../modules/sessions/session.service.ts';
import { EnrollmentService } from '../modules/two-factor/enrollment.service.ts';
import { TwoFactorRepository } from '../modules/two-factor/two-factor.repository.ts';
import { UsersService } from '../modules/users/users.service.ts';

/** The services routes use, built once per app from its deps (`app.services`). */
export interface HttpServices {
  users: UsersService;
  sessions: SessionService;
  /** The one repository of the two_factor_auth table, with the app's key ring. */
  twoFactor: TwoFactorRepository;
  enrollment: EnrollmentService;
  /** HMAC key of the public session ids in GET /api/sessions (never the token or its hash). */
  sessionIdKey: Buffer;
  passkeys: PasskeyService;
}

/** Builds the services for one app instance (no singletons). */
export function createServices(deps: AppDeps): HttpServices {
  const twoFactor = new TwoFactorRepository(deps.db, deps.secretBox);
  return {
    users: new UsersService(deps),
    sessions: new SessionService(deps),
    twoFactor,
    enrollment: new EnrollmentService({ ...deps, twoFactor }),
    sessionIdKey: deriveSessionIdKey(deps.csrfKey),
    passkeys: new PasskeyService(deps),
  };
}
