// The contrast arithmetic behind the focus-ring check, against WCAG's own definition and the audit's numbers (issue 14).
import { describe, expect, it } from 'vitest';
import { contrastRatio, over, parseCssColor } from './color-contrast.ts';

const hex = (h: string) => parseCssColor(`rgb(${[1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)).join(', ')})`);

describe('WCAG contrast ratio', () => {
  it('black on white is 21:1, a colour on itself 1:1, and the order does not matter', () => {
    expect(contrastRatio(hex('#000000'), hex('#ffffff'))).toBeCloseTo(21, 5);
    expect(contrastRatio(hex('#1f5fbf'), hex('#1f5fbf'))).toBe(1);
    expect(contrastRatio(hex('#ffffff'), hex('#767676'))).toBeCloseTo(contrastRatio(hex('#767676'), hex('#ffffff')), 10);
  });

  it('reproduces the audit: the old yellow ring #ffbf47 had 1.64:1 on white and 1.50:1 on the page background', () => {
    expect(contrastRatio(hex('#ffbf47'), hex('#ffffff'))).toBeCloseTo(1.64, 2);
    expect(contrastRatio(hex('#ffbf47'), hex('#f3f5f8'))).toBeCloseTo(1.5, 2);
    // #767676 on white is the textbook 4.54:1 (the lightest grey that passes 4.5:1 for text).
    expect(contrastRatio(hex('#767676'), hex('#ffffff'))).toBeCloseTo(4.54, 2);
  });

  it('parses computed colours with and without alpha, and refuses what it cannot read', () => {
    expect(parseCssColor('rgba(0, 0, 0, 0)')).toEqual({ r: 0, g: 0, b: 0, a: 0 });
    expect(parseCssColor('rgb(29 35 48 / 50%)')).toEqual({ r: 29, g: 35, b: 48, a: 0.5 });
    expect(() => parseCssColor('color(display-p3 1 0 0)')).toThrow(TypeError);
    expect(() => parseCssColor('transparent')).toThrow(TypeError);
  });

  it('composites a translucent colour over an opaque one', () => {
    expect(over(parseCssColor('rgba(0, 0, 0, 0.5)'), hex('#ffffff'))).toEqual({ r: 127.5, g: 127.5, b: 127.5, a: 1 });
    expect(over(parseCssColor('rgba(0, 0, 0, 0)'), hex('#f3f5f8'))).toEqual(hex('#f3f5f8'));
  });
});
