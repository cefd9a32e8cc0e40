// The last dashboard the server answered, kept in this browser so that when the
// server cannot be reached (offline, restarting) the page shows it, marked stale,
// rather than rows of "no data".
const PREFIX = 'stockdash.last.';

export interface Saved<T> {
  data: T;
  savedAt: string;
}

export function saveSnapshot<T>(name: string, owner: string | undefined, data: T): void {
  if (!owner) return;
  try {
    localStorage.setItem(PREFIX + name, JSON.stringify({ owner, data, savedAt: new Date().toISOString() }));
  } catch {
    /* storage full or unavailable: nothing to fall back on later, which is fine */
  }
}

/** The saved copy, only if it belongs to `owner` (another account's list is never shown). */
export function loadSnapshot<T>(name: string, owner: string | undefined): Saved<T> | null {
  if (!owner) return null;
  try {
    const raw = localStorage.getItem(PREFIX + name);
    if (!raw) return null;
    const v = JSON.parse(raw) as { owner?: string; data?: T; savedAt?: string };
    if (v.owner !== owner || v.data === undefined || !v.savedAt) return null;
    return { data: v.data, savedAt: v.savedAt };
  } catch {
    return null;
  }
}

export function clearSnapshots(): void {
  try {
    for (const k of Object.keys(localStorage)) if (k.startsWith(PREFIX)) localStorage.removeItem(k);
  } catch {
    /* unavailable */
  }
}
