import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { AuthProvider } from './auth';
import { makeQueryClient } from './queryClient';
import { applyTheme, initialTheme, ThemeProvider } from './theme';
import { ToastProvider } from './toast';
import './styles.css';

applyTheme(initialTheme()); // before first paint: no flash of the wrong theme

const queryClient = makeQueryClient();

createRoot(document.getElementById('root') as HTMLElement).render(
  <StrictMode>
    <ThemeProvider>
      <ToastProvider>
        <QueryClientProvider client={queryClient}>
          <BrowserRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
            <AuthProvider>
              <App />
            </AuthProvider>
          </BrowserRouter>
        </QueryClientProvider>
      </ToastProvider>
    </ThemeProvider>
  </StrictMode>,
);

// Installable app: the service worker keeps the shell for offline starts (production builds only;
// the dev server's modules are not hashed and must never be served stale).
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  // Registered a few seconds after load: installing fetches the whole shell again, which
  // should not compete with the first page's own requests.
  window.addEventListener('load', () => {
    window.setTimeout(() => void navigator.serviceWorker.register('/sw.js').catch(() => undefined), 3000);
  });
}
