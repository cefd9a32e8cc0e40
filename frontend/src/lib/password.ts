export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 128;

/** Client-side checks for a new password (the server has the last word): an error message or null. */
export function newPasswordError(password: string, confirm: string): string | null {
  if (password.length < MIN_PASSWORD) return `Password must be at least ${MIN_PASSWORD} characters.`;
  if (password.length > MAX_PASSWORD) return `Password must be at most ${MAX_PASSWORD} characters.`;
  if (password !== confirm) return 'The passwords do not match.';
  return null;
}
