// WCAG 2.2 contrast arithmetic for the browser tests' focus-ring check (axe-core checks text contrast itself).

/** A colour with channels 0–255 and alpha 0–1. */
export interface Rgba {
  r: number;
  g: number;
  b: number;
  a: number;
}

/**
 * Parses a computed CSS colour (`rgb(…)` or `rgba(…)`, as getComputedStyle gives it); throws TypeError on anything else.
 * @example parseCssColor('rgba(0, 0, 0, 0)') // { r: 0, g: 0, b: 0, a: 0 }
 */
export function parseCssColor(css: string): Rgba {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(css.trim());
  if (!m) throw new TypeError(`not a computed rgb()/rgba() colour: ${css}`);
  const alpha = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
  return { r: Number(m[1]), g: Number(m[2]), b: Number(m[3]), a: alpha };
}

/** WCAG 2.2 relative luminance of an opaque colour (the "relative luminance" definition, sRGB). */
export function relativeLuminance(color: Rgba): number {
  const channel = (v: number) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b);
}

/**
 * WCAG 2.2 contrast ratio (L1 + 0.05) / (L2 + 0.05), from 1 to 21, of two opaque colours.
 * @example contrastRatio(parseCssColor('rgb(0, 0, 0)'), parseCssColor('rgb(255, 255, 255)')) // 21
 */
export function contrastRatio(a: Rgba, b: Rgba): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** A colour laid over an opaque one (alpha compositing), giving the opaque colour the eye sees. */
export function over(layer: Rgba, base: Rgba): Rgba {
  const mix = (top: number, bottom: number) => top * layer.a + bottom * (1 - layer.a);
  return { r: mix(layer.r, base.r), g: mix(layer.g, base.g), b: mix(layer.b, base.b), a: 1 };
}
