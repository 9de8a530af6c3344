// A software WebAuthn authenticator for API tests (no browser): one P-256 key pair per credential, "none" attestation,
// counters it controls, and responses in the JSON shape @simplewebauthn/browser sends. The real browser path is covered
// by test/e2e/passkeys.e2e.test.ts (Chromium's virtual authenticator).
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** One credential held by the soft authenticator. */
export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  cosePublicKey: Uint8Array;
  userHandle: string;
  signCount: number;
}

const b64url = (bytes: Uint8Array | Buffer) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

function flags(options: { uv: boolean; attested?: boolean }): number {
  return 0x01 | (options.uv ? 0x04 : 0) | (options.attested ? 0x40 : 0); // UP, UV, AT (WebAuthn §6.1)
}

function counterBytes(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): string {
  return b64url(Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false })));
}

/** A software authenticator for one relying party. */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  constructor(
    readonly rpId: string,
    readonly origin: string,
  ) {}

  /** Answers registration options (as startRegistration would): a new discoverable credential. */
  register(options: { challenge: string; user: { id: string } }, overrides: { origin?: string } = {}): { credential: SoftCredential; body: Record<string, unknown> } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cosePublicKey = isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    const idBytes = randomBytes(16);
    const authData = Buffer.concat([
      sha256(this.rpId),
      Buffer.from([flags({ uv: true, attested: true })]),
      counterBytes(0),
      Buffer.alloc(16), // AAGUID: zeros (none attestation)
      Buffer.from([0, idBytes.length]),
      idBytes,
      Buffer.from(cosePublicKey),
    ]);
    const attestationObject = isoCBOR.encode(new Map<string, string | Map<string, string> | Uint8Array>([['fmt', 'none'], ['attStmt', new Map<string, string>()], ['authData', new Uint8Array(authData)]]));
    const credential: SoftCredential = { id: b64url(idBytes), privateKey, cosePublicKey, userHandle: options.user.id, signCount: 0 };
    this.credentials.push(credential);
    const body = {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: { clientDataJSON: clientData('webauthn.create', options.challenge, overrides.origin ?? this.origin), attestationObject: b64url(attestationObject), transports: ['internal'] },
      clientExtensionResults: {},
    };
    return { credential, body };
  }

  /** Answers authentication options with `credential` (counter advanced by one unless `signCount` is given). */
  assert(
    credential: SoftCredential,
    challenge: string,
    options: { uv?: boolean; signCount?: number; origin?: string; userHandle?: string | null } = {},
  ): Record<string, unknown> {
    credential.signCount = options.signCount ?? credential.signCount + 1;
    const authData = Buffer.concat([sha256(this.rpId), Buffer.from([flags({ uv: options.uv ?? true })]), counterBytes(credential.signCount)]);
    const clientDataJSON = clientData('webauthn.get', challenge, options.origin ?? this.origin);
    const signature = sign('sha256', Buffer.concat([authData, sha256(Buffer.from(clientDataJSON, 'base64url'))]), credential.privateKey);
    const handle = options.userHandle === undefined ? credential.userHandle : options.userHandle;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: { clientDataJSON, authenticatorData: b64url(authData), signature: b64url(signature), ...(handle ? { userHandle: handle } : {}) },
      clientExtensionResults: {},
    };
  }
}
