import { useEffect } from 'react';

export const APP_NAME = 'stockdash';

/** "Dashboard · stockdash": each page names itself in the tab, history and screen readers. */
export function usePageTitle(title: string | null | undefined): void {
  useEffect(() => {
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
  }, [title]);
}
