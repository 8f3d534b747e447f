/* Convenor live updates: one Socket.IO connection per page to the /live namespace.
 *
 * The page marks a root element with data-live-page (programme, delegate, dashboard, now),
 * data-conference (slug), data-version (the conference version the page was rendered at),
 * data-tz (IANA zone) and, on a delegate's page, data-token. On every (re)connect, and every
 * minute as a safety net, the page asks /c/<slug>/live/since/<version> for anything it missed.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-live-page]");
  if (!root || typeof io === "undefined") return;

  var page = root.dataset.livePage;
  var slug = root.dataset.conference;
  var tz = root.dataset.tz || "Europe/London";
  var token = root.dataset.token || "";
  var version = parseInt(root.dataset.version || "0", 10);
  var seenAnnouncements = {};
  var KIND_WORDS = { keynote: "keynote", plenary: "plenary", panel: "panel", workshop: "workshop",
                     carousel: "carousel", world_cafe: "World Cafe", networking: "networking",
                     "break": "break", other: "session" };

  // ------------------------------------------------------------------ small helpers

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  var timeFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: tz });
  function hm(iso) { return timeFormat.format(new Date(iso)); }

  function status(text, state) {
    var box = document.getElementById("live-status");
    if (!box) return;
    box.dataset.state = state;
    box.querySelector(".live-status-text").textContent = text;
  }

  function say(message) {
    var box = document.getElementById("live-message");
    if (!box) return;
    box.hidden = false;
    box.querySelector(".live-message-text").textContent = message;
    // Venue screens have nobody to press Dismiss: the note goes after five minutes.
    if (page === "now") {
      clearTimeout(say.timer);
      say.timer = setTimeout(function () { box.hidden = true; }, 300000);
    }
  }

  function flash(sessionId) {
    document.querySelectorAll('[data-session-id="' + sessionId + '"]').forEach(function (node) {
      node.classList.remove("live-flash");
      void node.offsetWidth;  // restart the animation
      node.classList.add("live-flash");
    });
  }

  // Replace page regions with their fresh server rendering (no page reload, socket stays up).
  var refreshing = null, again = false;
  function refresh(selectors) {
    if (refreshing) { again = true; return refreshing; }
    refreshing = fetch(window.location.href, { credentials: "same-origin",
                                               headers: { "X-Requested-With": "convenor-live" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        selectors.concat(Array.from(document.querySelectorAll("[data-live-refresh]"))
          .map(function (n) { return '[data-live-refresh="' + n.dataset.liveRefresh + '"]'; }))
          .forEach(function (sel) {
            var fresh = doc.querySelector(sel), old = document.querySelector(sel);
            if (fresh && old) old.replaceWith(document.importNode(fresh, true));
          });
      })
      .catch(function () { /* the next event or the minute poll tries again */ })
      .then(function () {
        refreshing = null;
        if (again) { again = false; return refresh(selectors); }
      });
    return refreshing;
  }

  // ------------------------------------------------------------------ announcements

  function showAnnouncement(a) {
    if (!a || seenAnnouncements[a.id]) return;
    seenAnnouncements[a.id] = true;
    var list = document.getElementById("live-announcements");
    if (!list) return;
    list.hidden = false;
    var ul = list.querySelector("ul");
    var li = el("li", { "data-announcement-id": a.id });
    li.appendChild(el("time", { datetime: a.created_at }, hm(a.created_at)));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", {}, a.text));
    ul.insertBefore(li, ul.firstChild);
    while (ul.children.length > 3) ul.removeChild(ul.lastChild);
  }
  document.querySelectorAll("[data-announcement-id]").forEach(function (n) {
    seenAnnouncements[n.dataset.announcementId] = true;
  });

  // ------------------------------------------------------------------ describing changes

  function describe(s, changes, oldStart, oldRoom) {
    var word = KIND_WORDS[s.kind] || "session";
    var who = (page === "delegate" ? "Your " : "The ") + (oldStart ? oldStart + " " : "") + word;
    var title = " “" + s.title + "”";
    if (changes.indexOf("status") >= 0 && s.status === "cancelled") return who + title + " is cancelled.";
    if (changes.indexOf("status") >= 0 && s.status === "scheduled") return who + title + " is back on.";
    var moved = changes.indexOf("starts_at") >= 0 || changes.indexOf("ends_at") >= 0;
    var roomed = changes.indexOf("room_id") >= 0;
    var room = s.room || "several rooms";
    if (moved && roomed) return who + title + " moved to " + hm(s.starts_at) + " in " + room + ".";
    if (roomed) return who + title + " moved to " + room + ".";
    if (moved) return who + title + " now runs " + hm(s.starts_at) + "–" + hm(s.ends_at) + ".";
    return who + title + " was updated.";
  }

  function placeText(p) {
    if (!p || typeof p !== "object") return "";
    var parts = [];
    ["table", "workshop", "title", "room", "host", "leader", "question"].forEach(function (k) {
      if (p[k] === undefined || p[k] === null || p[k] === "") return;
      var v = String(p[k]);
      if (k === "table") v = /^\d+$/.test(v) ? "Table " + v : v;
      if (k === "host") v = "host: " + v;
      if (k === "leader") v = "with " + v;
      parts.push(v);
    });
    return parts.join(" · ");
  }

  function showRound(data) {
    var box = document.getElementById("live-round");
    if (!box) return;
    box.hidden = false;
    var label = (data.kind === "carousel" ? "Carousel slot " : "World Cafe round ") + data.number;
    box.querySelector(".live-round-title").textContent = label + " is starting";
    box.querySelector(".live-round-place").textContent =
      placeText(data.place) || (data.session ? data.session.title : "");
  }

  function showSeats(data) {
    var box = document.getElementById("live-round");
    if (!box || !data.seats) return;
    box.hidden = false;
    box.querySelector(".live-round-title").textContent =
      "Your " + (data.kind === "carousel" ? "carousel plan" : "World Cafe tables") + " are ready";
    box.querySelector(".live-round-place").textContent = data.seats.map(placeText).join(" — then ");
  }

  // ------------------------------------------------------------------ per-page handlers

  var REGIONS = { programme: [".programme"], delegate: ["main ol.session-list"],
                  dashboard: ["main > ol.session-list"], now: [], arrivals: [] };

  var handlers = {
    session_changed: function (data) {
      var s = data.session, old = document.querySelector('[data-session-id="' + s.id + '"]');
      var oldStart = old && old.querySelector("time") ? old.querySelector("time").textContent : hm(s.starts_at);
      if (page === "now") { window.ConvenorNow && window.ConvenorNow.sessionChanged(s); }
      say(describe(s, data.changes || [], oldStart));
      if (page === "now") { flash(s.id); return; }
      return refresh(REGIONS[page] || []).then(function () { flash(s.id); });
    },
    programme_changed: function () {
      if (page === "now") { window.ConvenorNow && window.ConvenorNow.reload(); return; }
      return refresh(REGIONS[page] || []);
    },
    announcement: function (data) { showAnnouncement(data.announcement); },
    round_starting: function (data) {
      if (page === "now") { window.ConvenorNow && window.ConvenorNow.roundStarting(data); return; }
      if (data.place) showRound(data);
      if (page === "delegate") refresh([]);
    },
    allocation_published: function (data) {
      if (data.seats) showSeats(data);
      if (page === "delegate") refresh([]);
    },
    block_changed: function (data) {
      if (data.session && data.what) say(data.session.title + ": " + data.what);
      if (page === "now") { window.ConvenorNow && window.ConvenorNow.reload(); return; }
      if (page === "delegate") refresh([]);
    },
    checkin_stats: function (data) {
      if (page === "arrivals") { refresh([]); return; }
      var box = document.getElementById("live-checkins");
      if (!box || data.checked_in === null || data.checked_in === undefined) return;
      box.querySelector("strong").textContent = data.checked_in;
      box.querySelector(".of").textContent = " of " + data.total + " arrived";
    }
  };

  function dispatch(event, data) {
    if (data && typeof data.version === "number" && data.version > version) {
      version = data.version;
      root.dataset.version = String(version);
    }
    if (handlers[event]) handlers[event](data || {});
  }

  // ------------------------------------------------------------------ connection

  var catchingUp = null;
  function catchUp() {
    if (catchingUp) return catchingUp;
    var headers = token ? { "X-Delegate-Token": token } : {};
    catchingUp = fetch("/c/" + encodeURIComponent(slug) + "/live/since/" + version,
                       { credentials: "same-origin", headers: headers, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (body) {
        if (body.reload) {
          version = body.version;
          if (page === "now") { window.ConvenorNow && window.ConvenorNow.reload(); }
          else refresh(REGIONS[page] || []);
          return;
        }
        body.changes.forEach(function (c) { dispatch(c.event, c.data); });
        if (body.version > version) version = body.version;
      })
      .catch(function () { /* offline: try on the next connect */ })
      .then(function () { catchingUp = null; });
    return catchingUp;
  }

  var auth = { conference: slug };
  if (token) auth.delegate_token = token;
  var socket = io("/live", { auth: auth, reconnectionDelayMax: 10000 });
  status("Connecting…", "connecting");
  socket.on("connect", function () {
    status("Live", "live"); catchUp();
    if (page === "arrivals") refresh([]);  // arrival figures are not in the catch-up log
  });
  var revoked = false;
  socket.on("link_revoked", function (data) {
    // This private link was replaced or the registration cancelled: the server cuts the
    // connection; never reconnect with the old link.
    revoked = true;
    socket.disconnect();
    status(data && data.reason === "rotated"
      ? "Live updates stopped: this private link was replaced. Open your new link."
      : "Live updates stopped: this registration is no longer active.", "offline");
  });
  socket.on("disconnect", function () { if (!revoked) status("Reconnecting…", "offline"); });
  socket.on("connect_error", function (err) {
    status("Reconnecting…", "offline");
    if (err && err.message && !socket.active) status("Live updates unavailable: " + err.message, "offline");
  });
  Object.keys(handlers).forEach(function (event) {
    socket.on(event, function (data) { dispatch(event, data); });
  });
  setInterval(function () { if (!revoked) catchUp(); }, 60000);
  if (page === "arrivals") setInterval(function () { refresh([]); }, 30000);

  var dismiss = document.querySelector("#live-message button");
  if (dismiss) dismiss.addEventListener("click", function () {
    document.getElementById("live-message").hidden = true;
  });

  window.ConvenorLive = { socket: socket, catchUp: catchUp, version: function () { return version; } };
})();
