// The usage chart, on the Active Agents page and the Usage Report: hovering or focusing a
// day (or a month) says its figures; arrow keys, Home and End move between them. The
// listeners sit on the section, so a section redrawn by a refresh keeps them.
(function () {
  "use strict";

  window.seatkeeperUsageChart = function (section) {
    function show(bar) {
      var tooltip = section.querySelector('[data-testid="chart-tooltip"]');
      if (tooltip) tooltip.textContent = bar.dataset.description;
    }
    section.addEventListener("mouseover", function (event) {
      var bar = event.target.closest(".day");
      if (bar) show(bar);
    });
    section.addEventListener("focusin", function (event) {
      var bar = event.target.closest(".day");
      if (bar) show(bar);
    });
    section.addEventListener("keydown", function (event) {
      var bar = event.target.closest(".day");
      if (!bar) return;
      var bars = Array.prototype.slice.call(section.querySelectorAll(".day"));
      var index = bars.indexOf(bar);
      var next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: bars.length - 1 }[event.key];
      if (next === undefined || !bars[next]) return;
      event.preventDefault();
      bar.setAttribute("tabindex", "-1");
      bars[next].setAttribute("tabindex", "0");
      bars[next].focus();
    });
  };
})();
