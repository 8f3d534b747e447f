/* Convenor door scanner service worker: keeps the scanner page and its files available when
 * the venue network drops. API calls are never cached: scans queue in IndexedDB instead. */
var SLUG = {{ slug|tojson }};
var CACHE = "convenor-door-" + SLUG + "-v2";
var PAGE = "/door/" + SLUG + "/";
var FILES = [PAGE, "/static/js/scanner.js", "/static/css/checkin.css", "/static/css/convenor.css",
             "/static/vendor/pico/pico.min.css", "/static/vendor/jsqr/jsQR.js"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); }).catch(function () {}));
  self.skipWaiting();
});
self.addEventListener("activate", function (event) {
  // Drop this door's older caches (a new scanner.js must not be shadowed by a cached one).
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("convenor-door-" + SLUG + "-") === 0 && n !== CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).catch(function () {}).then(function () { return self.clients.claim(); }));
});
self.addEventListener("fetch", function (event) {
  var req = event.request;
  if (req.method !== "GET") return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.indexOf("/api/") === 0) return;
  if (url.pathname === PAGE) {
    // Network first (a fresh security token), the cached page when offline.
    event.respondWith(fetch(req).then(function (res) {
      var copy = res.clone();
      if (res.ok) caches.open(CACHE).then(function (c) { c.put(PAGE, copy); });
      return res;
    }).catch(function () { return caches.match(PAGE); }));
    return;
  }
  if (FILES.indexOf(url.pathname) >= 0) {
    event.respondWith(caches.match(url.pathname).then(function (hit) { return hit || fetch(req); }));
  }
});
