import { describe, expect, it } from 'vitest';
import { constantTimeEqual } from './constant-time-equal.ts';

describe('constantTimeEqual', () => {
  it('is true for equal strings', () => {
    expect(constantTimeEqual('123456', '123456')).toBe(true);
    expect(constantTimeEqual('', '')).toBe(true);
    expect(constantTimeEqual('héllo', 'héllo')).toBe(true);
  });

  it('is false for different strings, including different lengths', () => {
    expect(constantTimeEqual('123456', '123457')).toBe(false);
    expect(constantTimeEqual('123456', '1234567')).toBe(false);
    expect(constantTimeEqual('', 'a')).toBe(false);
  });
});
