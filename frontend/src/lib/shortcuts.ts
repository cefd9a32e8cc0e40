import { useEffect } from 'react';
import { useNavigate } from 'react-router-dom';

/** `g` then one of these keys goes to the page (as in GitHub and Gmail). */
export const GO_KEYS: Record<string, { path: string; name: string }> = {
  d: { path: '/', name: 'Dashboard' },
  p: { path: '/plans', name: 'Plans' },
  f: { path: '/performance', name: 'Performance' },
  a: { path: '/account', name: 'Account' },
};

export const SEARCH_SELECTOR = '[data-shortcut="search"]';

function typingIn(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
}

/** `/` focuses the stock search (going to the dashboard first if needed); `g d|p|f|a` navigates. */
export function useShortcuts(enabled: boolean): void {
  const navigate = useNavigate();
  useEffect(() => {
    if (!enabled) return;
    let pendingG = 0;
    const focusSearch = (tries: number) => {
      const input = document.querySelector<HTMLInputElement>(SEARCH_SELECTOR);
      if (input && !input.disabled) input.focus();
      else if (tries > 0) window.setTimeout(() => focusSearch(tries - 1), 100);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typingIn(e.target)) return;
      if (e.key === '/') {
        e.preventDefault();
        if (!document.querySelector(SEARCH_SELECTOR)) navigate('/');
        focusSearch(20);
        return;
      }
      if (e.key === 'g') {
        pendingG = Date.now();
        return;
      }
      const go = GO_KEYS[e.key];
      if (go && Date.now() - pendingG < 1500) {
        e.preventDefault();
        pendingG = 0;
        navigate(go.path);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [enabled, navigate]);
}
