// The password rule the server applies (PASSWORD_MIN_SCORE, 3 by default): zxcvbn's score with
// the account's own username and email as context. The estimator (~400 kB) loads on first use,
// so pages without a new-password field never download it.
import { useEffect, useState } from 'react';

export const MIN_SCORE = 3;
// The server judges at most the first 72 characters too.
const MAX_CHECKED = 72;

export interface Strength {
  score: number;
  ok: boolean;
  hint: string | null;
}

/** The strength of a password given words of the account itself (username, email). */
export async function passwordStrength(password: string, context: string[]): Promise<Strength> {
  const { default: zxcvbn } = await import('zxcvbn');
  const words = context.flatMap((item) => [item, ...item.replace('@', ' ').split(/\s+/)]).filter(Boolean);
  const result = zxcvbn(password.slice(0, MAX_CHECKED), words);
  const hint = [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(' ');
  return { score: result.score, ok: result.score >= MIN_SCORE, hint: hint || null };
}

/** The strength of the password as it is typed (null until there is one to judge). */
export function usePasswordStrength(password: string, context: string[]): Strength | null {
  const [strength, setStrength] = useState<Strength | null>(null);
  const key = context.join('\u0000');
  useEffect(() => {
    if (!password) {
      setStrength(null);
      return;
    }
    let live = true;
    passwordStrength(password, key ? key.split('\u0000') : []).then((s) => live && setStrength(s));
    return () => {
      live = false;
    };
  }, [password, key]);
  return strength;
}
