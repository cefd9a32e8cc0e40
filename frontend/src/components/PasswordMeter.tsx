import { MIN_SCORE, usePasswordStrength } from '../lib/strength';

const LABELS = ['Very weak', 'Weak', 'Fair', 'Strong', 'Very strong'];

/** A strength meter for a new password, by the server's rule (zxcvbn score >= MIN_SCORE). */
export function PasswordMeter({ password, context = [] }: { password: string; context?: string[] }) {
  const strength = usePasswordStrength(password, context);
  if (!strength) return null;
  return (
    <div className="password-meter" data-testid="password-meter" aria-live="polite">
      <meter min={0} max={4} low={MIN_SCORE - 0.5} high={MIN_SCORE} optimum={4} value={strength.score} aria-label="Strength" />
      <span className="field-hint" data-testid="password-strength">
        {LABELS[strength.score]}
        {strength.ok ? '' : ` — too easy to guess${strength.hint ? `: ${strength.hint}` : '.'}`}
      </span>
    </div>
  );
}
