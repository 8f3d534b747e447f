// The Send links progress page: poll the batch's JSON every 2 s until every email is done.
(function () {
  "use strict";
  var box = document.getElementById("links-progress");
  if (!box) return;
  var bar = document.getElementById("links-bar");
  function field(name) { return box.querySelector('[data-field="' + name + '"]'); }
  function show(p) {
    bar.max = p.total;
    bar.value = p.sent + p.failed;
    bar.textContent = p.sent + " of " + p.total;
    field("sent").textContent = p.sent;
    field("total").textContent = p.total;
    field("failed-text").textContent = p.failed ? ", " + p.failed + " not delivered" : "";
    field("state").textContent = p.done ? "Finished." : "Sending… this page updates itself.";
  }
  function poll() {
    fetch(box.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (p) show(p);
        if (!p || !p.done) window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
