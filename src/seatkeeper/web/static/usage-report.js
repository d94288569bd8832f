// The Usage Report page: its chart tells the figures of the day or month pointed at.
(function () {
  "use strict";
  var usage = document.getElementById("usage");
  if (usage) window.seatkeeperUsageChart(usage);
})();
