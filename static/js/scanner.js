/* Convenor door scanner.
 *
 * Codes come from the camera (BarcodeDetector where the browser has it, otherwise the vendored
 * jsQR decoder), from a hand-held scanner or typing, or from a name search. Every scan gets a
 * random nonce and the time it was made. Online, it is sent at once; when the network is down
 * (or the server does not answer) it waits in IndexedDB and is uploaded, with its original time
 * and nonce, as soon as the network is back. The server answers a repeated nonce with the first
 * answer, so an upload that was cut off half-way is safe to send again.
 */
(function () {
  "use strict";

  var root = document.getElementById("scanner");
  if (!root) return;
  var API = root.dataset.api, SEARCH = root.dataset.search, TZ = root.dataset.tz || "Europe/London";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var $ = function (id) { return document.getElementById(id); };
  var listBox = $("list"), deviceBox = $("device"), modeBox = $("mode"), soundBox = $("sound");
  var timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: TZ });

  // ------------------------------------------------------------------ settings survive reloads
  var SETTINGS = "convenor-door-" + root.dataset.slug;
  try {
    var saved = JSON.parse(localStorage.getItem(SETTINGS) || "{}");
    if (saved.device) deviceBox.value = saved.device;
    if (saved.list && listBox.querySelector('option[value="' + CSS.escape(saved.list) + '"]')) listBox.value = saved.list;
    if (saved.sound === false) soundBox.checked = false;
  } catch (e) { /* private mode: defaults */ }
  function saveSettings() {
    try {
      localStorage.setItem(SETTINGS, JSON.stringify({ device: deviceBox.value, list: listBox.value,
                                                      sound: soundBox.checked }));
    } catch (e) { /* ignore */ }
  }
  [deviceBox, listBox, soundBox].forEach(function (n) { n.addEventListener("change", saveSettings); });

  // On a phone the desk settings fold away once they have been set, so the answer and the camera
  // fit on the first screen; the summary line still says which list, desk and mode are in use.
  function summarise() {
    var list = listBox.options[listBox.selectedIndex];
    $("settings-summary").textContent = (list ? list.text : "") + " · " + (deviceBox.value || "no desk name") +
      " · " + (modeBox.value === "exit" ? "exit" : "entry");
  }
  [deviceBox, listBox, modeBox].forEach(function (n) {
    n.addEventListener("change", summarise);
    n.addEventListener("input", summarise);
  });
  summarise();
  try {
    if (window.matchMedia("(max-width: 700px)").matches && localStorage.getItem(SETTINGS)) {
      $("settings").open = false;
    }
  } catch (e) { /* keep them open */ }

  // ------------------------------------------------------------------ feedback: colour + words + sound
  var audio = null;
  function beep(kind) {
    if (!soundBox.checked) return;
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var tones = { ok: [[880, 0.12]], warn: [[660, 0.12], [660, 0.12]], bad: [[220, 0.35]],
                    queued: [[520, 0.1]] }[kind] || [];
      var t = audio.currentTime;
      tones.forEach(function (tone) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = tone[0];
        osc.type = kind === "bad" ? "square" : "sine";
        gain.gain.value = 0.15;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + tone[1]);
        t += tone[1] + 0.08;
      });
    } catch (e) { /* no audio: colour and words still say it */ }
  }

  var ICONS = { ok: "✓", warn: "!", bad: "✗", queued: "⇪", ready: "◎", busy: "…" };
  function show(state, title, name, detail) {
    var box = $("result");
    box.dataset.state = state;
    box.querySelector(".result-icon").textContent = ICONS[state] || "";
    $("result-title").textContent = title;
    $("result-name").textContent = name || "";
    $("result-detail").textContent = detail || "";
    if (state !== "busy") beep(state);
  }

  function describe(d) {
    if (!d) return "";
    var bits = [d.organisation, d.role].filter(Boolean);
    if (d.pronouns) bits.push(d.pronouns);
    var text = bits.join(" · ");
    if (d.access_needs && d.access_needs.length) text += (text ? " — " : "") + "Access: " + d.access_needs.join(", ");
    if (d.dietary) text += (text ? " — " : "") + "Diet: " + d.dietary;
    return text;
  }

  function recent(text, state) {
    var li = document.createElement("li");
    li.dataset.state = state;
    li.textContent = timeFormat.format(new Date()) + " — " + text;
    var list = $("recent");
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 30) list.removeChild(list.lastChild);
  }

  function answer(status, body, fromQueue) {
    var d = body.delegate, name = d ? d.name : "";
    var state, title, detail = describe(d);
    if (body.status === "ok") {
      state = "ok";
      title = body.type === "exit" ? "Checked out" : "Checked in";
    } else if (body.reason === "already_checked_in") {
      state = "warn";
      title = body.message || "Already checked in";
    } else if (status === 401) {
      state = "bad";
      title = "Signed out — sign in again, then reload this page";
    } else if (status === 403) {
      state = "bad";
      title = "This account cannot check people in at this conference";
    } else {
      state = "bad";
      title = body.message || body.error || "Refused";
      if (body.details && body.details.length) detail = body.details.map(function (x) { return x.message; }).join("; ");
    }
    if (fromQueue) {
      recent("uploaded: " + (name || "code") + " — " + title, state);
      return;
    }
    show(state, title, name, detail);
    recent((name ? name + " — " : "") + title, state);
  }

  // ------------------------------------------------------------------ IndexedDB queue
  var dbPromise = null;
  function idb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = indexedDB.open("convenor-door", 1);
      req.onupgradeneeded = function () { req.result.createObjectStore("queue", { keyPath: "nonce" }); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
    return dbPromise;
  }
  function store(mode, fn) {
    return idb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction("queue", mode), result;
        var req = fn(tx.objectStore("queue"));
        if (req) req.onsuccess = function () { result = req.result; };
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
      });
    });
  }
  function enqueue(scan) { return store("readwrite", function (s) { return s.put(scan); }).then(updateCount); }
  function queued() { return store("readonly", function (s) { return s.getAll(); }); }
  function dequeue(nonce) { return store("readwrite", function (s) { return s.delete(nonce); }); }

  function updateCount() {
    return queued().then(function (items) {
      var n = items.length;
      $("queue-text").textContent = n + (n === 1 ? " scan" : " scans") + " waiting to upload";
      $("queue-text").dataset.count = String(n);
      $("flush").hidden = n === 0;
      return n;
    }).catch(function () { /* IndexedDB unavailable */ });
  }

  function setNet(online) {
    $("net").dataset.state = online ? "online" : "offline";
    $("net-text").textContent = online ? "Online" : "Offline — scans are saved on this device";
  }

  // ------------------------------------------------------------------ sending
  function nonce() {
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function post(scan) {
    var ctrl = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 3000);
    return fetch(API, {
      method: "POST", credentials: "same-origin", signal: ctrl.signal,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(scan)
    }).then(function (r) {
      clearTimeout(timer);
      if (r.status >= 500) throw new Error("server " + r.status);
      return r.json().then(function (body) { return [r.status, body]; });
    }, function (err) { clearTimeout(timer); throw err; });
  }

  function scan(fields) {
    var item = Object.assign({ list: listBox.value, device: deviceBox.value.trim().slice(0, 60),
                               type: modeBox.value, nonce: nonce(),
                               scanned_at: new Date().toISOString() }, fields);
    var label = fields.label || "";
    delete item.label;
    if (!navigator.onLine) return keep(item, label);
    show("busy", "Checking…", label, "");
    return post(item).then(function (res) {
      setNet(true);
      if (res[0] === 429) return paused(item, label, res[1]);
      answer(res[0], res[1], false);
      flush();
    }, function () { return keep(item, label); });
  }

  // Too many unknown codes from this device: the server refuses every scan for a while, good
  // badges too, so keep this one and upload it when the wait is over (flush retries).
  function paused(item, label, body) {
    var wait = (body && body.retry_after) || 60;
    return enqueue(item).then(function (n) {
      show("queued", "Paused: too many unknown badge codes from this device", label,
           "Saved on this device; it uploads in about " + wait + " seconds (" + n + " waiting). " +
           "Let them in if the badge looks right.");
      recent((label || "code") + " — saved, scanning paused", "queued");
    });
  }

  function keep(item, label) {
    setNet(false);
    return enqueue(item).then(function (n) {
      show("queued", "Saved — will upload when back online", label,
           "Let them in if the badge looks right; " + n + " waiting on this device.");
      var code = item.secret ? "code " + item.secret.slice(0, 6) + "…" : "code";
      recent((label || code) + " — saved offline", "queued");
    });
  }

  // A refusal that says nothing about the scan itself (signed out, no access, the page's security
  // token no longer matches): the saved scan must stay on the device, not be dropped.
  function notNow(res) {
    return res[0] === 401 || res[0] === 403 ||
      (res[0] === 400 && !(res[1] && res[1].details && res[1].details.length));
  }

  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    var sent = 0;
    flushing = queued().then(function (items) {
      items.sort(function (a, b) { return a.scanned_at < b.scanned_at ? -1 : 1; });
      var chain = Promise.resolve();
      items.forEach(function (item) {
        chain = chain.then(function () {
          return post(item).then(function (res) {
            if (notNow(res)) { var stop = new Error("not signed in"); stop.signIn = true; throw stop; }
            if (res[0] === 429) { var later = new Error("throttled"); later.throttled = true; throw later; }
            answer(res[0], res[1], true);
            sent += 1;
            return dequeue(item.nonce);
          });
        });
      });
      return chain.then(function () {
        setNet(true);
        if (sent && $("result").dataset.state === "queued") {
          show("ready", "Ready to scan", "", sent + (sent === 1 ? " saved scan" : " saved scans") +
               " uploaded — see this desk's scans below.");
        }
      });
    }).catch(function (err) {
      if (err && err.throttled) return;  // still queued; the next flush tries again
      if (!(err && err.signIn)) { setNet(false); return; }
      $("net").dataset.state = "signed-out";
      $("net-text").textContent = "Signed out — sign in again and reload this page to upload saved scans";
    }).then(function () { flushing = null; return updateCount(); });
    return flushing;
  }

  window.addEventListener("online", function () { setNet(true); flush(); });
  window.addEventListener("offline", function () { setNet(false); });
  setInterval(function () { if (navigator.onLine) flush(); }, 10000);
  $("flush").addEventListener("click", flush);
  setNet(navigator.onLine);
  updateCount().then(function (n) { if (n && navigator.onLine) flush(); });

  // ------------------------------------------------------------------ typed / hand-held scanner input
  $("code-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var value = $("code").value.trim();
    $("code").value = "";
    if (!value) { show("bad", "No code", "", "Type or scan a badge code first."); return; }
    scan({ secret: value });
    $("code").focus();
  });

  // ------------------------------------------------------------------ manual search
  $("search-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var q = $("q").value.trim(), out = $("search-results");
    out.innerHTML = "";
    if (q.length < 2) { $("search-note").textContent = "Type at least two letters."; return; }
    if (!navigator.onLine) { $("search-note").textContent = "Search needs the network. Scans still work offline."; return; }
    $("search-note").textContent = "Searching…";
    fetch(SEARCH + "?q=" + encodeURIComponent(q) + "&list=" + encodeURIComponent(listBox.value),
          { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var results = body.results || [];
        $("search-note").textContent = !results.length ? "Nobody found for “" + q + "”." :
          results.length >= 20 ? "First 20 shown — type more of the name to narrow it down." :
          results.length + " found";
        results.forEach(function (d) {
          var li = document.createElement("li");
          var who = document.createElement("div");
          var strong = document.createElement("strong");
          strong.textContent = d.name;
          who.appendChild(strong);
          var small = document.createElement("small");
          small.textContent = " " + describe(d) + (d.status !== "active" ? " — registration cancelled" : "") +
            (d.checked_in_at ? " — already in at " + d.checked_in_at.slice(11, 16) + (d.device ? " (" + d.device + ")" : "") : "");
          who.appendChild(small);
          li.appendChild(who);
          var btn = document.createElement("button");
          btn.type = "button";
          btn.className = d.checked_in_at ? "secondary outline" : "";
          btn.textContent = modeBox.value === "exit" ? "Check out" : "Check in";
          var hidden = document.createElement("span");
          hidden.className = "visually-hidden";
          hidden.textContent = " " + d.name;
          btn.appendChild(hidden);
          btn.addEventListener("click", function () { scan({ delegate_id: d.id, label: d.name }); });
          li.appendChild(btn);
          out.appendChild(li);
        });
      })
      .catch(function () { $("search-note").textContent = "Search failed; check the network."; });
  });

  // ------------------------------------------------------------------ camera
  var video = $("video"), stream = null, detector = null, canvas = null, lastCode = "", lastAt = 0;

  function loadJsQR() {
    if (window.jsQR) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = root.dataset.jsqr;
      s.onload = resolve; s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function decodeFrame() {
    if (!video.videoWidth) return Promise.resolve(null);
    if (detector) {
      return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
    }
    canvas = canvas || document.createElement("canvas");
    var w = Math.min(video.videoWidth, 800), h = Math.round(video.videoHeight * w / video.videoWidth);
    canvas.width = w; canvas.height = h;
    var ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.drawImage(video, 0, 0, w, h);
    var found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: "attemptBoth" });
    return Promise.resolve(found ? found.data : null);
  }

  function tick() {
    if (!stream) return;
    decodeFrame().then(function (code) {
      var now = Date.now();
      // A badge held in front of the camera is one scan, however long it stays there: the same
      // code counts again only after the camera has not seen it for 1.5 seconds.
      if (code) {
        lastAt = now;
        video.dataset.framesRead = String(parseInt(video.dataset.framesRead || "0", 10) + 1);
        if (code !== lastCode) {
          lastCode = code;
          scan({ secret: code });
        }
      } else if (lastCode && now - lastAt > 1500) {
        lastCode = "";
      }
    }).catch(function () { /* a frame that cannot be read */ })
      .then(function () { setTimeout(tick, 200); });
  }

  function startCamera() {
    if (stream) { stopCamera(); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      $("camera-note").textContent = "This browser cannot use the camera here (it needs HTTPS). Use the code box or search.";
      return;
    }
    var ready = ("BarcodeDetector" in window)
      ? window.BarcodeDetector.getSupportedFormats().then(function (f) {
          if (f.indexOf("qr_code") >= 0) { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); return; }
          return loadJsQR();
        })
      : loadJsQR();
    ready.then(function () {
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      return video.play();
    }).then(function () {
      $("camera").textContent = "Stop camera";
      $("camera-note").textContent = detector ? "Scanning (built-in detector)" : "Scanning";
      tick();
    }).catch(function (err) {
      $("camera-note").textContent = "Camera unavailable: " + (err && err.message ? err.message : err) +
        ". Use the code box or search.";
    });
  }

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    video.srcObject = null;
    $("camera").textContent = "Start camera";
    $("camera-note").textContent = "";
  }

  $("camera").addEventListener("click", startCamera);

  // ------------------------------------------------------------------ offline page reloads
  if ("serviceWorker" in navigator && window.isSecureContext && root.dataset.sw) {
    navigator.serviceWorker.register(root.dataset.sw, { scope: "/door/" + root.dataset.slug + "/" })
      .catch(function () { /* the page still works; it just cannot reload offline */ });
  }
  $("code").focus();
})();
