import { describe, expect, it } from 'vitest';
import { MIN_SCORE, passwordStrength } from './strength';

describe('passwordStrength (the server rule: zxcvbn score >= 3)', () => {
  it('refuses common and context-derived passwords', async () => {
    expect(MIN_SCORE).toBe(3);
    for (const weak of ['password', '12345678', '        ', 'qwertyuiop']) {
      expect((await passwordStrength(weak, [])).ok).toBe(false);
    }
    expect((await passwordStrength('mallorymallory', ['mallory', 'mallory@example.com'])).ok).toBe(false);
  });

  it('accepts a passphrase and explains a refusal', async () => {
    expect((await passwordStrength('quartz-lantern-meadow-91', ['alice'])).ok).toBe(true);
    const weak = await passwordStrength('password', []);
    expect(weak.score).toBe(0);
    expect(weak.hint).toMatch(/common password/);
  });
});
