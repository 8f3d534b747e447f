/* Badge PDF job page: poll the job's status until the PDF is ready, then show the download link. */
(function () {
  "use strict";
  var box = document.querySelector(".badge-job");
  if (!box) return;
  var text = document.getElementById("badge-job-text");
  var bar = document.getElementById("badge-job-progress");
  var link = document.getElementById("badge-job-download");
  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        bar.max = job.total || 1; bar.value = job.done;
        if (job.status === "done") {
          text.textContent = "Ready: " + job.total + " badge" + (job.total === 1 ? "" : "s") + ".";
          link.hidden = false; return;
        }
        if (job.status === "failed") { text.textContent = "Could not build the PDF: " + job.error; return; }
        text.textContent = "Drawing badges: " + job.done + " of " + job.total + "…";
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  if (link.hidden) poll();
})();
