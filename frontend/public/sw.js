// stockdash service worker: keeps the app shell (index.html, its hashed JS/CSS, icons)
// so the app opens without a connection. API responses are never cached here: the page
// keeps its own last dashboard and shows it marked stale when the server is unreachable.
const SHELL = 'stockdash-shell-v1';
const STATIC = ['/', '/manifest.json', '/icons/icon-192.png', '/icons/icon-512.png'];

/** The hashed assets index.html loads (their names change with every build). */
async function shellAssets() {
  const html = await (await fetch('/', { cache: 'no-cache' })).text();
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL);
      await cache.addAll([...STATIC, ...(await shellAssets())]);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key !== SHELL) await caches.delete(key);
      await self.clients.claim();
    })(),
  );
});

function isBackend(url) {
  return /^\/(api|docs|redoc|openapi\.json|metrics|healthz|readyz)(\/|$)/.test(url.pathname);
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || isBackend(url)) return;
  if (req.mode === 'navigate') {
    // Pages: the network first (a new build shows at once), the cached shell when offline.
    event.respondWith(
      (async () => {
        try {
          const res = await fetch(req);
          if (res.ok) (await caches.open(SHELL)).put('/', res.clone());
          return res;
        } catch {
          return (await caches.match('/')) ?? Response.error();
        }
      })(),
    );
    return;
  }
  if (url.pathname.startsWith('/assets/') || url.pathname.startsWith('/icons/')) {
    // Content-hashed files never change: the cache first, filled as pages load lazy chunks.
    event.respondWith(
      (async () => {
        const hit = await caches.match(req);
        if (hit) return hit;
        const res = await fetch(req);
        if (res.ok) (await caches.open(SHELL)).put(req, res.clone());
        return res;
      })(),
    );
  }
});
