/* Convenor Now & Next screen: current and next session per room, a clock in the conference's
 * zone, the round plan during a World Cafe or carousel. Re-renders as time passes and when
 * live.js reports a change (window.ConvenorNow.*).
 */
(function () {
  "use strict";

  var root = document.getElementById("now-screen");
  if (!root) return;
  var tz = root.dataset.tz;
  var slug = root.dataset.conference;
  // ?at=... rehearses the screen at another moment: the clock runs on from there.
  var offset = root.dataset.atMs ? parseInt(root.dataset.atMs, 10) - Date.now() : 0;
  var data = JSON.parse(document.getElementById("now-data").textContent);
  var round = null;

  function now() { return new Date(Date.now() + offset); }
  var hmFormat = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: tz });
  var dayFormat = new Intl.DateTimeFormat("en-GB", { weekday: "long", day: "numeric", month: "long", timeZone: tz });
  var dayKey = new Intl.DateTimeFormat("en-CA", { year: "numeric", month: "2-digit", day: "2-digit", timeZone: tz });
  function hm(d) { return hmFormat.format(d); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function sessionCell(s, t, which) {
    var td = el("td", "now-cell now-" + which);
    if (!s) { td.appendChild(el("span", "now-empty", which === "now" ? "—" : "Nothing more today")); return td; }
    td.dataset.sessionId = s.id;
    var start = new Date(s.starts_at), end = new Date(s.ends_at);
    var when = el("span", "now-when", hm(start) + "–" + hm(end));
    if (dayKey.format(start) !== dayKey.format(t)) when.textContent = dayFormat.format(start) + ", " + when.textContent;
    td.appendChild(when);
    td.appendChild(el("span", "now-title", s.title));
    if (s.speakers && s.speakers.length) td.appendChild(el("span", "now-speakers", s.speakers.join(", ")));
    if (s.status === "cancelled") td.appendChild(el("span", "now-tag now-cancelled", "Cancelled"));
    else if (which === "next") {
      var mins = Math.round((start - t) / 60000);
      if (mins <= 60) td.appendChild(el("span", "now-tag", mins <= 0 ? "Starting now" : "In " + mins + " min"));
    } else {
      var left = Math.round((end - t) / 60000);
      td.appendChild(el("span", "now-tag now-left", left <= 1 ? "Ending" : left + " min left"));
    }
    return td;
  }

  function pick(list, t) {
    var current = null, next = null;
    list.forEach(function (s) {
      var a = new Date(s.starts_at), b = new Date(s.ends_at);
      if (a <= t && t < b && s.status !== "cancelled" && !current) current = s;
      else if (a > t && !next) next = s;
    });
    return [current, next];
  }

  var lastKey = null;
  function tick() {
    var t = now();
    document.getElementById("now-clock").textContent = hm(t);
    document.getElementById("now-clock").setAttribute("datetime", t.toISOString());
    var key = Math.floor(t.getTime() / 15000);
    if (key !== lastKey) render();
  }

  function render() {
    var t = now();
    lastKey = Math.floor(t.getTime() / 15000);
    document.getElementById("now-day").textContent = dayFormat.format(t);
    var byRoom = {}, venue = [];
    data.sessions.slice().sort(function (a, b) { return new Date(a.starts_at) - new Date(b.starts_at); })
      .forEach(function (s) {
        if (s.room_id === null || s.room_id === undefined) venue.push(s);
        else (byRoom[s.room_id] = byRoom[s.room_id] || []).push(s);
      });
    var rows = [];
    var pair = pick(venue, t);
    if (pair[0] || pair[1]) rows.push(["Across the venue", pair]);
    data.rooms.forEach(function (room) {
      var p = pick(byRoom[room.id] || [], t);
      if (p[0] || p[1]) rows.push([room.name, p]);
    });
    var body = document.getElementById("now-rows");
    body.textContent = "";
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.appendChild(el("th", "now-room", row[0])).setAttribute("scope", "row");
      tr.appendChild(sessionCell(row[1][0], t, "now"));
      tr.appendChild(sessionCell(row[1][1], t, "next"));
      body.appendChild(tr);
    });
    var first = data.sessions.length ? new Date(data.sessions[0].starts_at) : null;
    var done = document.getElementById("now-done");
    done.hidden = rows.length > 0;
    done.textContent = first && t < first ? "The programme starts at " + hm(first) + "." :
      "The programme has finished. Thank you for coming.";
    document.getElementById("now-table").hidden = rows.length === 0;
    renderRound(t);
    fit();
  }

  // A venue screen cannot scroll: shrink the table's type until every room fits (down to 14px).
  function fit() {
    var table = document.getElementById("now-table");
    table.style.fontSize = "";
    var size = parseFloat(getComputedStyle(table).fontSize);
    while (document.documentElement.scrollHeight > window.innerHeight + 1 && size > 14) {
      size -= 1;
      table.style.fontSize = size + "px";
    }
  }
  window.addEventListener("resize", fit);
  // Announcements and change notes (added by live.js) take room too.
  var watcher = new MutationObserver(function () { fit(); });
  ["live-announcements", "live-message"].forEach(function (id) {
    var node = document.getElementById(id);
    if (node) watcher.observe(node, { childList: true, subtree: true, attributes: true, characterData: true });
  });

  function renderRound(t) {
    var box = document.getElementById("now-round");
    if (!round || t > round.until) { box.hidden = true; return; }
    box.hidden = false;
    var label = (round.kind === "carousel" ? "Carousel slot " : "World Cafe round ") + round.number;
    box.querySelector("h2").textContent = label + (round.session ? " — " + round.session.title : "");
    var list = box.querySelector("ul");
    list.textContent = "";
    (round.places || []).forEach(function (p) {
      var li = el("li");
      var head = [p.table ? (/^\d+$/.test(String(p.table)) ? "Table " + p.table : p.table) : null,
                  p.workshop || p.title, p.room].filter(Boolean).join(" · ");
      li.appendChild(el("strong", null, head));
      var who = p.host ? "Host: " + p.host : p.leader ? "With " + p.leader : "";
      if (who) li.appendChild(el("span", null, who));
      if (p.question) li.appendChild(el("span", "now-question", p.question));
      list.appendChild(li);
    });
    if (!list.children.length) list.appendChild(el("li", null, "Check your phone for your place."));
  }

  function reload() {
    return fetch("/c/" + encodeURIComponent(slug) + "/now.json", { cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (fresh) { data = fresh; render(); })
      .catch(function () {});
  }

  window.ConvenorNow = {
    reload: reload,
    sessionChanged: function (s) {
      var found = false;
      data.sessions = data.sessions.map(function (x) { if (x.id === s.id) { found = true; return s; } return x; });
      if (!found) data.sessions.push(s);
      render();
    },
    roundStarting: function (d) {
      var until = d.session ? new Date(d.session.ends_at) : new Date(now().getTime() + 15 * 60000);
      round = Object.assign({}, d, { until: until });
      render();
    },
    render: render
  };

  render();
  tick();
  // Tick every second for the clock; the rows follow (every 15 s) as sessions start and end.
  setInterval(tick, 1000);
})();
