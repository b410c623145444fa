// The service worker makes the page open offline: it keeps the page's own
// files (the shell) and answers from them when the network fails. It
// never answers for the API, storage or anything outside /app/: those go
// to the network untouched, so no API answer or presigned URL is cached.
// The shell is fetched from the network first, so a deploy still reaches
// a browser that is online at once.

const CACHE = 'recorder-shell-v1';
// Every file web.go embeds (web/shell_test.go holds the two lists together).
const SHELL = [
  './', 'app.js', 'api.js', 'dialog.js', 'format.js', 'ui.js', 'uploads.js',
  'views/recordings.js', 'views/trash.js', 'views/account.js', 'views/shares.js', 'views/devices.js', 'views/exports.js',
  'style.css', 'manifest.json', 'icon.svg', 'icon-192.png', 'icon-512.png', 'config.json',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

const scope = new URL(self.registration.scope);

function isShell(url) {
  return url.origin === scope.origin && url.pathname.startsWith(scope.pathname) && !url.pathname.endsWith('/sw.js');
}

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || !isShell(url)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(event.request);
      if (res.ok) await cache.put(event.request, res.clone());
      return res;
    } catch (err) {
      const kept = await cache.match(event.request, { ignoreSearch: true });
      if (kept) return kept;
      throw err;
    }
  })());
});
