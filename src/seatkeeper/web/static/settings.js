// Account Settings: the local time beside the time zone follows the zone being typed.
(function () {
  "use strict";
  var input = document.querySelector('[data-testid="settings-time-zone"]');
  var shown = document.querySelector('[data-testid="local-time"]');
  if (!input || !shown) return;
  var clock = shown.querySelector("time");
  function update() {
    var zone = input.value.trim();
    try {
      clock.textContent = new Intl.DateTimeFormat([], {
        timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23"
      }).format(new Date());
      shown.classList.remove("unknown");
    } catch (error) {
      clock.textContent = "unknown zone";
      shown.classList.add("unknown");
    }
  }
  input.addEventListener("input", update);
  setInterval(update, 30000);
})();
