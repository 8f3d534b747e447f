/* Print buttons: <button data-print> opens the browser's print dialog (no inline onclick). */
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
