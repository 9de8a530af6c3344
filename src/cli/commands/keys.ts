import { keySourceOf, loadKeyRing } from '../../deps.ts';
import { SecretBox } from '../../lib/secret-box.ts';
import { MissingKeyError, keyUsage, rotateSecrets, type KeyUsage, type RotationProgress } from '../../modules/two-factor/encryption-keys.ts';
import { TwoFactorRepository } from '../../modules/two-factor/two-factor.repository.ts';
import type { CliCommand } from '../cli-command.ts';

/** Rows re-encrypted per batch by default: small enough that a batch never holds up a running server. */
const DEFAULT_BATCH_SIZE = 500;

function usageLine(u: KeyUsage): string {
  const label = u.keyId === null ? 'not encrypted (legacy plain secrets)' : u.current ? 'current' : u.configured ? 'configured' : 'MISSING';
  const mark = !u.configured ? '✗' : u.keyId === null ? '!' : u.current ? '✓' : '○';
  return `  ${mark} ${(u.keyId ?? '(plain)').padEnd(9)} ${label.padEnd(11)} ${u.secrets} secret(s)`;
}

/** `crew keys status`: key ids that stored secrets use, with counts; read-only (never creates a database or key file). */
export const keysStatusCommand: CliCommand = {
  name: 'keys status',
  description: 'list the encryption key ids stored TOTP secrets use, with counts (exit 1 when one is not configured)',
  options: [['--json', 'machine-readable output']],
  async run(ctx) {
    return ctx.withDatabase(
      async (open, config) => {
        let keys: Buffer[] = [];
        let source: string;
        try {
          ({ keys, source } = await loadKeyRing(config, open, { create: false }));
        } catch (error) {
          if (!(error instanceof MissingKeyError)) throw error;
          source = `${keySourceOf(config, open)} (missing)`;
        }
        const usage = await keyUsage(new TwoFactorRepository(open.db), keys.length > 0 ? new SecretBox(keys).keyIds : []);
        ctx.out.line(`Encryption keys from ${source}:`);
        for (const u of usage) ctx.out.line(usageLine(u));
        if (usage.length === 0) ctx.out.line('  (no key configured and no stored secret)');
        const missing = usage.filter((u) => !u.configured).map((u) => u.keyId!);
        const old = usage.filter((u) => u.configured && !u.current && u.keyId !== null && u.secrets > 0);
        if (old.length > 0 || usage.some((u) => u.keyId === null)) ctx.out.line('Run `crew keys rotate` to re-encrypt them under the current key.');
        ctx.out.result({ source, keys: usage, missingKeyIds: missing });
        if (missing.length > 0) {
          ctx.out.error(`secrets are encrypted with key id ${missing.join(', ')}, which ${source} does not hold; those users cannot sign in with a code until it is restored`, 'encryption_key_missing');
          return 1;
        }
        return 0;
      },
      { readOnly: true },
    );
  },
};

/** `crew keys rotate`: re-encrypts every stored secret under the first configured key, in batches, re-runnable. */
export const keysRotateCommand: CliCommand = {
  name: 'keys rotate',
  description: 're-encrypt every stored TOTP secret under the first configured key (in batches; safe while servers run)',
  options: [
    ['--batch-size <n>', `rows per batch (default ${DEFAULT_BATCH_SIZE})`],
    ['--json', 'machine-readable output'],
  ],
  async run(ctx, _args, opts) {
    const batchSize = opts.batchSize === undefined ? DEFAULT_BATCH_SIZE : Number(opts.batchSize);
    if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
      const { UsageError } = await import('../cli-command.ts');
      throw new UsageError(`--batch-size must be a whole number ≥ 1 (got ${String(opts.batchSize)})`);
    }
    return ctx.withDatabase(
      async (open, config) => {
        const ring = await loadKeyRing(config, open, { create: false });
        if (ring.keys.length === 0) {
          ctx.out.line(`No encryption key yet (${ring.source} does not exist) and no encrypted secret: nothing to rotate`);
          ctx.out.result({ total: 0, done: 0, skipped: 0, keyId: null });
          return 0;
        }
        const box = new SecretBox(ring.keys);
        const twoFactor = new TwoFactorRepository(open.db, box);
        const progress = await withProgress(ctx.out.json, (report) =>
          rotateSecrets(twoFactor, box, ring.source, { batchSize, onStart: report.start, onProgress: report.update }),
        );
        ctx.out.line(
          progress.total === 0
            ? `✓ Every secret is already under the current key ${box.currentKeyId}`
            : `✓ Re-encrypted ${progress.done} secret(s) under key ${box.currentKeyId}` +
                (progress.skipped > 0 ? `; ${progress.skipped} changed meanwhile (re-run to check them)` : ''),
        );
        const left = (await keyUsage(twoFactor, box.keyIds)).filter((u) => !u.current && u.secrets > 0);
        if (left.length === 0 && box.keyIds.length > 1) {
          ctx.out.line(`No secret uses ${box.keyIds.slice(1).join(', ')} any more: you may remove the old key(s) from ${ring.source} and restart the servers.`);
        }
        ctx.out.result({ ...progress, keyId: box.currentKeyId, stillUnderOtherKeys: left });
        return 0;
      },
      { mustExist: true },
    );
  },
};

interface ProgressReport {
  start(total: number): void;
  update(progress: RotationProgress): void;
}

/** A progress bar on a terminal (cli-progress), one line per batch otherwise; nothing in --json mode. */
async function withProgress(json: boolean, fn: (report: ProgressReport) => Promise<RotationProgress>): Promise<RotationProgress> {
  if (json) return fn({ start() {}, update() {} });
  if (!process.stdout.isTTY) {
    return fn({
      start: (total) => process.stdout.write(`${total} secret(s) to re-encrypt\n`),
      update: (p) => process.stdout.write(`  ${p.done + p.skipped}/${p.total}\n`),
    });
  }
  const { SingleBar, Presets } = (await import('cli-progress')).default;
  const bar = new SingleBar({ format: 'Re-encrypting [{bar}] {value}/{total} secrets', hideCursor: true }, Presets.shades_classic);
  try {
    return await fn({ start: (total) => bar.start(total, 0), update: (p) => bar.update(p.done + p.skipped) });
  } finally {
    bar.stop();
  }
}
