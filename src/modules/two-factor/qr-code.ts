// qrcode adds ~7 MiB resident and is needed only while a user sets up 2FA: loaded on first use.
let qrCodeLibrary: Promise<typeof import('qrcode')> | undefined;

/** Options of {@link renderQrSvg}. */
export interface RenderQrSvgOptions {
  /** Accessible name for screen readers; never put the secret here. */
  label?: string;
}

const escapeAttribute = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Renders text (an otpauth URI) as an inline SVG QR code, locally — never through a third-party service, which
 * would leak the secret (the speakeasy mistake). Error correction M, 4-module quiet zone (ISO/IEC 18004 §6.3.8).
 * @example const svg = await renderQrSvg(buildOtpauthUri({ issuer, accountName, secret }));
 */
export async function renderQrSvg(text: string, options: RenderQrSvgOptions = {}): Promise<string> {
  const label = options.label ?? 'QR code for setting up an authenticator app';
  const loaded = await (qrCodeLibrary ??= import('qrcode'));
  // A CommonJS module: Node.js puts its exports on `default` (tsx/vitest may not).
  const QRCode = (loaded as typeof loaded & { default?: typeof loaded }).default ?? loaded;
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
  // role="img" + aria-label give the picture an accessible name (WCAG 2.1 SC 1.1.1).
  return svg.replace(/^<svg\b/, `<svg role="img" aria-label="${escapeAttribute(label)}"`);
}
