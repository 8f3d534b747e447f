// Carousel ranking: one rank <select> per workshop (works without JavaScript).
// With JavaScript, when a select is left with a rank another workshop already has, that
// other workshop takes this one's previous rank (a swap), so ranks stay unique; the change
// is announced to screen readers. Swapping on leaving (not on every change) lets keyboard
// users step through the ranks with the arrow keys without shuffling the other workshops.
(function () {
  "use strict";
  function name(select) {
    return select.labels && select.labels[0] ? select.labels[0].textContent.replace(/^Rank for /, "") : "";
  }
  document.querySelectorAll("form[data-ranking]").forEach(function (form) {
    var selects = Array.prototype.slice.call(form.querySelectorAll("select"));
    var status = form.querySelector(".ws-rank-status");
    function settle(select) {
      var value = select.value;
      var before = select.dataset.before || "";
      if (!value || value === before) { return; }
      selects.forEach(function (other) {
        if (other !== select && other.value === value) {
          other.value = before;
          if (status) {
            status.textContent = name(other) + (before ? " is now rank " + before : " is now not ranked") +
              ". Press “Save my ranking” to keep your changes.";
          }
        }
      });
      select.dataset.before = value;
    }
    selects.forEach(function (select) {
      select.dataset.before = select.value;
      select.addEventListener("focus", function () { select.dataset.before = select.value; });
      select.addEventListener("blur", function () { settle(select); });
    });
    form.addEventListener("submit", function () {
      if (selects.indexOf(document.activeElement) >= 0) { settle(document.activeElement); }
    });
  });
})();
