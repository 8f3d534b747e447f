// Carousel ranking: one rank <select> per workshop (works without JavaScript).
// With JavaScript, choosing a rank another workshop already has swaps the two, so ranks
// stay unique, and the change is announced to screen readers.
(function () {
  "use strict";
  document.querySelectorAll("form[data-ranking]").forEach(function (form) {
    var selects = Array.prototype.slice.call(form.querySelectorAll("select"));
    var status = form.querySelector(".ws-rank-status");
    selects.forEach(function (select) {
      select.dataset.previous = select.value;
      select.addEventListener("change", function () {
        var value = select.value;
        var message = "";
        if (value) {
          selects.forEach(function (other) {
            if (other !== select && other.value === value) {
              other.value = select.dataset.previous || "";
              other.dataset.previous = other.value;
              var name = other.labels && other.labels[0] ? other.labels[0].textContent.replace(/^Rank for /, "") : "";
              message = name + (other.value ? " is now rank " + other.value : " is now not ranked") + ".";
            }
          });
        }
        select.dataset.previous = value;
        if (status) {
          status.textContent = message + " Press “Save my ranking” to keep your changes.";
        }
      });
    });
  });
})();
