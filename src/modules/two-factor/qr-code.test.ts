import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderQrSvg } from './qr-code.ts';
import { buildOtpauthUri } from './otpauth-uri.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'crew-qr-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a tool; a missing binary fails the test with the Debian package to install. */
function run(command: string, args: string[], debianPackage: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(`${command} is not installed: install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
  }
  if (result.status !== 0) throw new Error(`${command} exited with status ${result.status}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** Rasterises the SVG with librsvg and reads it back with zbar, as a phone camera would. */
function decodeSvg(svg: string, name: string): string {
  const svgPath = join(dir, `${name}.svg`);
  const pngPath = join(dir, `${name}.png`);
  writeFileSync(svgPath, svg);
  run('rsvg-convert', ['--width', '400', '--height', '400', '--background-color', 'white', '-o', pngPath, svgPath], 'librsvg2-bin');
  return run('zbarimg', ['--raw', '-q', pngPath], 'zbar-tools').replace(/\n$/, '');
}

describe('renderQrSvg', () => {
  it('produces an accessible SVG', async () => {
    const svg = await renderQrSvg('hello');
    expect(svg).toMatch(/^<svg role="img" aria-label="QR code for setting up an authenticator app" xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).not.toMatch(/<script/i);
    expect(await renderQrSvg('x', { label: 'a "quoted" <label>' })).toContain('aria-label="a &quot;quoted&quot; &lt;label&gt;"');
  });

  it('decodes back to the same otpauth URI (rsvg-convert + zbarimg)', async () => {
    const uri = buildOtpauthUri({ issuer: 'Production Crew', accountName: 'zoë.o’brien@example.com', secret: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' });
    expect(decodeSvg(await renderQrSvg(uri), 'uri')).toBe(uri);
  });

  it('decodes back short and long texts', async () => {
    for (const [index, text] of ['A', 'otpauth://totp/X:y?secret=AAAA', 'x'.repeat(300)].entries()) {
      expect(decodeSvg(await renderQrSvg(text), `t${index}`)).toBe(text);
    }
  });
});
