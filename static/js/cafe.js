// World Cafe organiser page: show a "Working…" state while an allocation request runs.
(function () {
  "use strict";
  var box = document.querySelector(".cafe-working");
  document.querySelectorAll("form[data-working]").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button").forEach(function (b) {
        b.disabled = true;
        b.setAttribute("aria-busy", "true");
      });
      if (box) {
        box.querySelector(".cafe-working-text").textContent = form.getAttribute("data-working");
        box.hidden = false;
        if (form.closest(".cafe-actions") === null) form.appendChild(box);
      }
    });
  });
})();
