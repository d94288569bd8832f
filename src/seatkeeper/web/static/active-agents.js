// The Active Agents page: sorting, selection, Refresh, auto-refresh and Terminate Session;
// the usage section keeps the period it shows; who waits for a license refreshes with them.
// The server renders everything; this script fetches fresh fragments and keeps the
// sort order, the selection, the focus and the scroll position across refreshes.
(function () {
  "use strict";

  var root = document.getElementById("active-agents");
  if (!root) return;
  var account = root.dataset.account;
  var csrf = root.dataset.csrf;
  var state = {
    sort: root.dataset.sort,
    order: root.dataset.order,
    q: root.dataset.q,
    group: root.dataset.group,
    page: root.dataset.page,
  };
  // The period the usage section shows ("period=12m", or from and to dates): every
  // refresh asks for it again.
  var periodQuery = new URLSearchParams(root.dataset.periodQuery || "");
  var selected = new Set();
  var timer = null;
  var loading = null;
  var again = false;
  var started = 0;  // refreshes started so far
  // A termination's message stays until the grid changes after it: `after` is the number of
  // refreshes started before it was said, `grid` the first grid fetched since.
  var told = null;

  var usage = document.getElementById("usage");
  var line = document.getElementById("waiting");  // who waits for a license
  var grid = document.getElementById("grid");
  var status = document.getElementById("status");
  var connected = document.getElementById("connected");
  var terminateButton = document.getElementById("terminate");
  var refreshButton = document.getElementById("refresh");
  var autoRefresh = document.getElementById("auto-refresh");
  var dialog = document.getElementById("confirm");
  var AUTO_REFRESH_MS = 5000;

  function rows() {
    return Array.prototype.slice.call(grid.querySelectorAll('input[data-testid="select-row"]'));
  }

  // kind: "ok", "warning" (done, but not all as asked), "error", or "" (nothing said).
  function say(message, kind) {
    status.textContent = message;
    ["ok", "warning", "error"].forEach(function (each) {
      status.classList.toggle(each, each === kind);
    });
  }

  function tell(message, kind) {
    say(message, kind);
    told = { after: started, grid: null };
  }

  // After a refresh that succeeded: a refresh's error goes, a termination's message once
  // the grid has changed since the grid that came after it.
  function settleStatus(number, html) {
    if (told && number > told.after) {
      if (told.grid === null) told.grid = html;
      else if (told.grid !== html) told = null;
    }
    if (!told && status.textContent) say("", "");
  }

  // The live region says how many agents are connected whenever that changes.
  function announce() {
    var table = grid.querySelector("table");
    var sentence = table ? table.dataset.connected : "";
    if (sentence && connected.textContent !== sentence) connected.textContent = sentence;
  }

  function errorOf(response) {
    // The server's own sentence when it sent one, else the status.
    return response.json().then(
      function (body) { return body.error ? body.error.message : "HTTP " + response.status; },
      function () { return "the server answered " + response.status + "."; }
    );
  }

  function syncSelection() {
    var boxes = rows();
    var present = new Set(boxes.map(function (box) { return box.value; }));
    selected.forEach(function (id) { if (!present.has(id)) selected.delete(id); });
    boxes.forEach(function (box) { box.checked = selected.has(box.value); });
    var all = grid.querySelector('input[data-testid="select-all"]');
    if (all) {
      all.checked = boxes.length > 0 && selected.size === boxes.length;
      all.indeterminate = selected.size > 0 && selected.size < boxes.length;
    }
    terminateButton.disabled = selected.size === 0;
  }

  function focusKey(element) {
    if (!element || !root.contains(element)) return null;
    // A row's checkbox is told by its value (the session); a date being typed is not.
    var value = element.type === "checkbox" ? element.value : "";
    return {
      testid: element.dataset.testid,
      value: value,
      date: element.dataset.date,
      row: rows().indexOf(element),
    };
  }

  function restoreFocus(key) {
    if (!key || !key.testid) return;
    var selector = '[data-testid="' + key.testid + '"]';
    if (key.value) selector += '[value="' + key.value + '"]';
    if (key.date) selector += '[data-date="' + key.date + '"]';
    var target = root.querySelector(selector);
    if (!target && key.row >= 0) {
      // Its session is gone from this page: the row now in its place, else Refresh.
      var boxes = rows();
      target = boxes[Math.min(key.row, boxes.length - 1)] || refreshButton;
    }
    if (target) target.focus({ preventScroll: true });
  }

  function query() {
    var params = new URLSearchParams({ sort: state.sort, order: state.order });
    if (state.q) params.set("q", state.q);
    if (state.group) params.set("group", state.group);
    if (String(state.page) !== "1") params.set("page", state.page);
    periodQuery.forEach(function (value, key) { params.set(key, value); });
    return params;
  }

  function fragmentsUrl() {
    return "/accounts/" + encodeURIComponent(account) + "/active-agents/fragments?" + query();
  }

  // The dates form, opened and typed in but not yet sent, survives a refresh of the section.
  function typedDates() {
    var dates = usage.querySelector(".period-dates");
    var typed = { open: Boolean(dates && dates.open), values: {} };
    usage.querySelectorAll('.period-custom input[type="date"]').forEach(function (input) {
      if (input.value !== input.defaultValue) typed.values[input.name] = input.value;
    });
    return typed;
  }
  function restoreDates(typed) {
    var dates = usage.querySelector(".period-dates");
    if (dates && typed.open) dates.open = true;
    Object.keys(typed.values).forEach(function (name) {
      var input = usage.querySelector('.period-custom input[name="' + name + '"]');
      if (input) input.value = typed.values[name];
    });
  }

  function refresh() {
    // A refresh asked for while one is loading runs once it is done: what it asked
    // for (a new sort, the grid after a termination) may not be in the answer on its way.
    if (loading) {
      again = true;
      return loading;
    }
    var scrollX = window.scrollX, scrollY = window.scrollY;
    var gridTop = grid.scrollTop, gridLeft = grid.scrollLeft;
    var number = ++started;
    loading = fetch(fragmentsUrl(), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected && new URL(response.url).pathname === "/login") {
          window.location.reload();  // the login ended: the page sends us to log in
          return;
        }
        if (!response.ok) {
          return errorOf(response).then(function (message) { throw new Error(message); });
        }
        return response.text().then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          // Where the focus is now, not when the request left: it may have moved meanwhile.
          var focused = focusKey(document.activeElement);
          var typed = typedDates();
          usage.replaceChildren(doc.getElementById("usage-fragment").content.cloneNode(true));
          restoreDates(typed);
          line.replaceChildren(doc.getElementById("waiting-fragment").content.cloneNode(true));
          var fragment = doc.getElementById("grid-fragment");
          grid.replaceChildren(fragment.content.cloneNode(true));
          syncSelection();
          grid.scrollTop = gridTop;
          grid.scrollLeft = gridLeft;
          window.scrollTo(scrollX, scrollY);
          restoreFocus(focused);
          announce();
          settleStatus(number, fragment.innerHTML);
        });
      })
      .catch(function (error) {
        told = null;
        say("Could not refresh: " + error.message, "error");
      })
      .finally(function () {
        loading = null;
        if (again) {
          again = false;
          refresh();
        }
      });
    return loading;
  }

  function navigate(changes) {
    Object.assign(state, changes);
    history.replaceState(null, "", "?" + query());
    refresh();
  }

  // Sorting and pages: the links work without scripts too; here they keep the selection.
  grid.addEventListener("click", function (event) {
    var sortLink = event.target.closest("a[data-sort]");
    var pageLink = event.target.closest("a[data-page-link]");
    if (sortLink) {
      event.preventDefault();
      // From the state, not the link: a second click may come before the grid is redrawn.
      var key = sortLink.dataset.sort;
      var order = state.sort === key && state.order === "asc" ? "desc" : "asc";
      navigate({ sort: key, order: order, page: "1" });
    } else if (pageLink) {
      event.preventDefault();
      navigate({ page: new URL(pageLink.href).searchParams.get("page") });
    }
  });

  // Search as you type (a moment after the last key), from the first page.
  var searchForm = document.getElementById("search");
  var searchBox = searchForm.querySelector('input[name="q"]');
  var typing = null;
  function search() {
    clearTimeout(typing);
    if (searchBox.value.trim() === state.q) return;
    navigate({ q: searchBox.value.trim(), page: "1" });
  }
  searchBox.addEventListener("input", function () {
    clearTimeout(typing);
    typing = setTimeout(search, 300);
  });
  // The seat group's filter, from the first page.
  var groupSelect = searchForm.querySelector('select[name="group"]');
  if (groupSelect) {
    groupSelect.addEventListener("change", function () {
      navigate({ group: groupSelect.value, page: "1" });
    });
  }
  searchForm.addEventListener("submit", function (event) {
    event.preventDefault();
    search();
  });

  grid.addEventListener("change", function (event) {
    var box = event.target;
    if (box.dataset.testid === "select-all") {
      rows().forEach(function (row) {
        if (box.checked) selected.add(row.value); else selected.delete(row.value);
      });
    } else if (box.dataset.testid === "select-row") {
      if (box.checked) selected.add(box.value); else selected.delete(box.value);
    }
    syncSelection();
  });

  refreshButton.addEventListener("click", function () { refresh(); });

  // Auto-refresh: the server pushes "changed" whenever the account changes, on any
  // instance; while that stream is down, the grid is polled instead.
  var source = null;
  var liveStatus = document.getElementById("live-status");

  function poll(on) {
    if (timer) { clearInterval(timer); timer = null; }
    if (on) timer = setInterval(refresh, AUTO_REFRESH_MS);
  }

  function live(on) {
    if (source) { source.close(); source = null; }
    poll(false);
    liveStatus.textContent = "";
    if (!on) return;
    source = new EventSource(
      "/accounts/" + encodeURIComponent(account) + "/active-agents/events"
    );
    source.addEventListener("ready", function () {
      poll(false);
      liveStatus.textContent = "Live";
      refresh();
    });
    source.addEventListener("changed", function () { refresh(); });
    source.addEventListener("error", function () {
      if (!autoRefresh.checked) return;
      liveStatus.textContent = "Reconnecting: refreshing every " + AUTO_REFRESH_MS / 1000 + " s";
      if (!timer) poll(true);
      if (source && source.readyState === EventSource.CLOSED) {
        // The browser gave up on this stream: open a new one a little later.
        setTimeout(function () { if (autoRefresh.checked) live(true); }, AUTO_REFRESH_MS);
      }
    });
  }

  autoRefresh.addEventListener("change", function () { live(autoRefresh.checked); });
  // Ticked before this script ran (a click while it loaded, or a form the browser
  // restored on Back): the page goes live as the box says.
  if (autoRefresh.checked) live(true);

  terminateButton.addEventListener("click", function () {
    var chosen = rows().filter(function (box) { return selected.has(box.value); });
    if (chosen.length === 0) return;
    var agents = chosen.map(function (box) { return box.dataset.label; });
    var noun = chosen.length === 1 ? "session" : "sessions";
    document.getElementById("confirm-text").textContent =
      "Terminate " + chosen.length + " " + noun + ": " + agents.join(", ") + "?";
    dialog.returnValue = "";
    dialog.showModal();
  });

  dialog.addEventListener("close", function () {
    if (dialog.returnValue !== "terminate") {
      terminateButton.focus();  // where the keyboard was before it asked
      return;
    }
    var ids = Array.from(selected);
    fetch("/api/v1/accounts/" + encodeURIComponent(account) + "/active-sessions/terminate", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ session_ids: ids }),
    })
      .then(
        function (response) {
          if (!response.ok) {
            return errorOf(response).then(function (message) {
              tell("Nothing was terminated: " + message, "error");
            });
          }
          return response.json().then(function (body) {
            ids.forEach(function (id) { selected.delete(id); });
            // Any the grid showed open that had ended meanwhile: not quite what was asked.
            var asked = body.already_ended.length + body.not_found.length === 0;
            tell(body.message, asked ? "ok" : "warning");
            return refresh();
          });
        },
        function () {
          // The request may or may not have reached the server: the grid will tell.
          tell("The connection failed, so whether the sessions were terminated is not known: " +
               "the grid below shows what is open now.", "error");
          return refresh();
        }
      )
      .finally(function () { status.focus(); });
  });

  window.seatkeeperUsageChart(usage);

  syncSelection();
})();
