// The reference agent console: opens (or joins) a session, works in Flows as
// Interactions, sends heartbeats, and says plainly when the session has ended.
(function () {
  "use strict";

  var root = document.getElementById("console");
  if (!root) return;
  var account = root.dataset.account;
  var csrf = root.dataset.csrf;
  var flows = JSON.parse(root.dataset.flows);
  var heartbeatMs = Number(root.dataset.heartbeatSeconds) * 1000;
  var timeZone = root.dataset.timeZone;
  var SYNC_MS = 15000;  // how often a joined browser catches up with the others
  // Kept per browser, not per tab: every tab of a browser works in one session.
  var storageKey = "seatkeeper-console:" + account;
  // A place in line is this tab's: a reload follows it again, another tab does not.
  var lineKey = "seatkeeper-console-line:" + account;

  var session = null;  // { id, token }
  var items = [];  // open Interactions: { id, flow, step (index) }
  var current = null;  // the id of the Interaction shown
  var lastAttempt = null;  // what "Try again" (or "Wait for a license") sends again
  var place = null;  // the place in line this page follows: { id, ticket, misses, controller }
  var beat = null;
  var syncing = null;

  function $(id) { return document.getElementById(id); }
  var views = { start: $("start"), waiting: $("waiting"), ended: $("ended"), work: $("work") };
  var notice = $("console-message");

  function show(view) {
    Object.keys(views).forEach(function (name) { views[name].hidden = name !== view; });
    // The message goes with what is shown (under a card's heading), so it is never
    // wider than the card or the work area that holds it.
    var heading = views[view].querySelector(":scope > h2");
    if (heading) heading.after(notice);
    else views[view].prepend(notice);
  }

  function say(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function problem(status, body) {
    var error = new Error(body && body.error ? body.error.message : "seatkeeper answered " + status + ".");
    error.status = status;
    error.code = body && body.error ? body.error.code : "";
    return error;
  }

  function send(url, method, body, headers, signal) {
    return fetch(url, {
      method: method,
      headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal: signal,
    }).then(
      function (response) {
        if (response.status === 204) return null;
        return response.json().then(
          function (data) {
            if (!response.ok) throw problem(response.status, data);
            return data;
          },
          function () { throw problem(response.status, null); }
        );
      },
      function () { throw problem(0, { error: { code: "offline", message: "seatkeeper could not be reached. Check the connection and try again." } }); }
    );
  }

  function api(method, path, body) {
    return send("/api/v1/sessions/" + session.id + path, method, body, {
      Authorization: "Bearer " + session.token,
    });
  }

  // Any call for an ended session answers 410 with the sentence to show.
  function failed(error) {
    if (error.status === 410) return end(error.message);
    if (error.status === 401) return end("This session is no longer valid. Start a new session.");
    say(error.message);
  }

  function end(text) {
    stopHeartbeat();
    session = null;
    items = [];
    current = null;
    localStorage.removeItem(storageKey);
    say("");
    $("ended-message").textContent = text;
    show("ended");
    $("new-session").focus();
  }

  // With `waiting`, a full pool gives a place in line (202, a ticket) instead of a refusal.
  function openSession(body, waiting) {
    lastAttempt = body;
    $("retry").hidden = $("wait").hidden = true;
    say("");
    var sent = waiting ? Object.assign({}, body, { wait: true }) : body;
    return send("/console/" + encodeURIComponent(account) + "/sessions", "POST", sent, {
      "X-CSRF-Token": csrf,
    }).then(
      function (answer) { return answer.ticket ? joinLine(answer) : seated(answer); },
      function (error) {
        var full = error.code === "license_limit_reached" || error.code === "group_limit_reached";
        offerAgain(error.message, full || error.code === "offline", full, false);
      }
    );
  }

  // Opened, or seated from the line: either way the session is kept and shown the same.
  function seated(opened) {
    lastAttempt = null;  // no password kept longer than needed
    session = { id: opened.session_id, token: opened.token };
    localStorage.setItem(storageKey, JSON.stringify(session));
    $("login").reset();
    return resume();
  }

  // The start card again, saying why, with what can be asked again (after a reload, nothing
  // was kept to ask with: the card's own form and buttons ask).
  function offerAgain(text, retry, wait, focusWait) {
    retry = retry && lastAttempt !== null;
    wait = wait && lastAttempt !== null;
    show("start");
    say(text);
    $("retry").hidden = !retry;
    $("wait").hidden = !wait;
    if (focusWait && wait) $("wait").focus();
    else if (retry) $("retry").focus();
  }

  // --- the line for a license ----------------------------------------------------------

  function ordinal(n) {
    var tens = n % 100;
    var ones = n % 10;
    if (tens >= 11 && tens <= 13) return n + "th";
    return n + ({ 1: "st", 2: "nd", 3: "rd" }[ones] || "th");
  }

  function about(seconds) {
    var minutes = Math.max(1, Math.round(seconds / 60));
    if (minutes === 1) return "about a minute";
    if (minutes < 120) return "about " + minutes + " minutes";
    return "about " + Math.round(minutes / 60) + " hours";
  }

  // Only what changed is written: the live region reads out each change, and only those.
  function showPlace(at) {
    var text = "You are " + ordinal(at.position) + " in line";
    if (at.ahead > 0) text += ", " + at.ahead + (at.ahead === 1 ? " agent" : " agents") + " ahead";
    var estimate = at.estimate_seconds == null ? "" : "Expected wait: " + about(at.estimate_seconds);
    if ($("place").textContent !== text) $("place").textContent = text;
    if ($("estimate").textContent !== estimate) {
      $("estimate").textContent = estimate;
      $("estimate").hidden = !estimate;
    }
  }

  function setPlace(followed) {
    place = followed;
    if (followed) sessionStorage.setItem(lineKey, JSON.stringify({ id: followed.id, ticket: followed.ticket }));
    else sessionStorage.removeItem(lineKey);
  }

  function joinLine(ticket) {
    setPlace({ id: ticket.wait_id, ticket: ticket.ticket, misses: 0, controller: null });
    showPlace(ticket);
    show("waiting");
    $("leave").focus();
    follow(place);
  }

  // After a reload: the place this tab waited in, followed again (a quick look first).
  function rejoinLine(kept) {
    setPlace({ id: kept.id, ticket: kept.ticket, misses: 0, controller: null, look: true });
    $("place").textContent = "Finding your place in line…";
    show("waiting");
    follow(place);
  }

  function ticketCall(mine, method, query, signal) {
    return send("/api/v1/waits/" + mine.id + query, method, undefined, {
      Authorization: "Bearer " + mine.ticket,
    }, signal);
  }

  // A long poll: answered when the place moves up, is seated (201: the session), or in 25 s.
  // A lost connection tries again soon: the place is kept a minute after each follow.
  function follow(mine) {
    if (place !== mine) return;
    mine.controller = new AbortController();
    // After a lost connection, a quick look first: it says at once that all is well again.
    var query = "?timeout=" + (mine.misses || mine.look ? 0 : 25);
    ticketCall(mine, "GET", query, mine.controller.signal).then(
      function (answer) {
        if (place !== mine) return;  // left meanwhile
        if (mine.misses) say("");
        mine.misses = 0;
        mine.look = false;
        if (answer.session_id) {
          setPlace(null);
          return seated(answer);
        }
        showPlace(answer);
        follow(mine);
      },
      function (error) {
        if (place !== mine) return;
        if ([401, 404, 410].indexOf(error.status) >= 0) {
          setPlace(null);
          // A duplicated tab follows the same ticket: the one seated keeps the browser's
          // session, which this one joins.
          var kept = localStorage.getItem(storageKey);
          if (error.code === "wait_collected" && kept) {
            lastAttempt = null;
            session = JSON.parse(kept);
            return resume();
          }
          return offerAgain(lineEnded(error), true, true, true);
        }
        mine.misses += 1;
        say("seatkeeper could not be reached. Trying again: your place is kept for a minute.");
        setTimeout(function () { follow(mine); }, Math.min(5000, 1000 * mine.misses));
      }
    );
  }

  function lineEnded(error) {
    if (error.code === "wait_timed_out") {
      return "Your place in line was lost: seatkeeper did not hear from this page for a minute. " +
        "Ask again for a new place.";
    }
    if (error.code === "wait_left") return "You left the line.";
    if (error.code === "wait_collected") {
      return "Another tab of this browser took the session this place was given: reload to join it.";
    }
    if (error.status === 401 || error.status === 404) {
      return "Your place in line was asked for again from another browser: it waits there now.";
    }
    return error.message;
  }

  function leaveLine() {
    var mine = place;
    if (!mine) return;
    setPlace(null);
    if (mine.controller) mine.controller.abort();
    ticketCall(mine, "DELETE", "").then(
      function () { offerAgain("You left the line.", true, true, true); },
      function (error) {
        offerAgain(error.status === 0
          ? "seatkeeper could not be reached: your place ends within a minute, as this page " +
            "no longer follows it."
          : lineEnded(error), true, true, true);
      }
    );
  }

  // Show the session as the server has it: a joining browser sees the others' work.
  function resume() {
    return api("GET", "").then(function (state) {
      $("agent").textContent = state.agent_id ? "Logged in as " + state.agent_id : "Guest";
      $("started").dateTime = state.started_at;
      $("started").textContent =
        new Date(state.started_at).toLocaleTimeString("en-GB", { timeZone: timeZone, hourCycle: "h23" }) +
        " (" + timeZone + ")";
      sync(state.interactions);
      show("work");
      startHeartbeat();
      render();
    }, failed);
  }

  function stepsOf(name) {
    var flow = flows.find(function (f) { return f.name === name; });
    return flow ? flow.steps : [name];
  }

  function sync(list) {
    var known = {};
    items.forEach(function (item) { known[item.id] = item; });
    items = list.map(function (i) {
      var index = known[i.interaction_id]
        ? known[i.interaction_id].step
        : Math.max(0, stepsOf(i.flow).indexOf(i.step));
      return { id: i.interaction_id, flow: i.flow, step: index };
    });
    if (!items.some(function (item) { return item.id === current; })) {
      current = items.length ? items[items.length - 1].id : null;
    }
  }

  function label(item) {
    var same = items.filter(function (other) { return other.flow === item.flow; });
    return same.length > 1 ? item.flow + " (" + (same.indexOf(item) + 1) + ")" : item.flow;
  }

  function renderFlows() {
    var list = $("flow-list");
    list.replaceChildren();
    flows.forEach(function (flow) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = "Open " + flow.name;
      button.dataset.testid = "flow-open";
      button.dataset.flow = flow.name;
      button.addEventListener("click", function () { openFlow(flow.name); });
      var entry = document.createElement("li");
      entry.appendChild(button);
      list.appendChild(entry);
    });
    $("no-flows").hidden = flows.length > 0;
  }

  function render() {
    var tabs = $("tabs");
    tabs.replaceChildren();
    items.forEach(function (item) {
      var tab = document.createElement("button");
      tab.type = "button";
      tab.setAttribute("role", "tab");
      tab.id = "tab-" + item.id;
      tab.setAttribute("aria-selected", String(item.id === current));
      tab.tabIndex = item.id === current ? 0 : -1;
      tab.dataset.testid = "interaction-tab";
      tab.dataset.flow = item.flow;
      tab.dataset.interactionId = item.id;
      tab.textContent = label(item);
      tab.addEventListener("click", function () { current = item.id; render(); });
      tabs.appendChild(tab);
    });
    var item = items.find(function (i) { return i.id === current; });
    $("panel").hidden = !item;
    $("no-interactions").hidden = Boolean(item);
    if (!item) return;
    var steps = stepsOf(item.flow);
    $("panel").setAttribute("aria-labelledby", "tab-" + item.id);
    $("panel-title").textContent = label(item);
    $("step").textContent = "Step " + (item.step + 1) + " of " + steps.length + ": " + steps[item.step];
    var list = $("steps");
    list.replaceChildren();
    steps.forEach(function (title, index) {
      var entry = document.createElement("li");
      entry.textContent = title;
      if (index === item.step) entry.setAttribute("aria-current", "step");
      list.appendChild(entry);
    });
    $("back").disabled = item.step === 0;
    $("next").disabled = item.step >= steps.length - 1;
  }

  function selected() {
    return items.find(function (i) { return i.id === current; });
  }

  function openFlow(name) {
    var first = stepsOf(name)[0];
    api("POST", "/interactions", { flow: name })
      .then(function (opened) {
        items.push({ id: opened.interaction_id, flow: name, step: 0 });
        current = opened.interaction_id;
        render();
        return api("POST", "/interactions/" + opened.interaction_id + "/steps", { step: first });
      })
      .catch(failed);
  }

  // Quick clicks each count: a step goes from the last one asked for, and an Interaction's
  // steps are sent one after another, so the server records them in the order clicked.
  function go(delta) {
    var item = selected();
    if (!item) return;
    var steps = stepsOf(item.flow);
    var from = item.wanted === undefined ? item.step : item.wanted;
    var target = Math.min(steps.length - 1, Math.max(0, from + delta));
    if (target === from) return;
    item.wanted = target;
    item.queue = (item.queue || Promise.resolve())
      .then(function () {
        return api("POST", "/interactions/" + item.id + "/steps", { step: steps[target] });
      })
      .then(function () {
        item.step = target;
        if (item.wanted === target) delete item.wanted;
        render();
      })
      .catch(function (error) {
        delete item.wanted;
        if (error.code === "interaction_closed") return forget(item);
        failed(error);
      });
  }

  function forget(item) {
    items = items.filter(function (i) { return i !== item; });
    current = items.length ? items[items.length - 1].id : null;
    render();
  }

  function closeSelected() {
    var item = selected();
    if (!item) return;
    api("DELETE", "/interactions/" + item.id)
      .then(function () { forget(item); })
      .catch(function (error) {
        if (error.code === "interaction_closed") return forget(item);
        failed(error);
      });
  }

  function catchUp() {
    // A hidden tab leaves it to the heartbeats: no need to redraw what nobody sees.
    if (!session || document.visibilityState !== "visible") return;
    api("GET", "").then(function (state) { sync(state.interactions); render(); }, failed);
  }

  function startHeartbeat() {
    stopHeartbeat();
    beat = setInterval(function () { api("POST", "/heartbeat").catch(failed); }, heartbeatMs);
    syncing = setInterval(catchUp, SYNC_MS);
  }

  function stopHeartbeat() {
    if (beat) clearInterval(beat);
    if (syncing) clearInterval(syncing);
    beat = syncing = null;
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = new FormData(event.target);
    openSession({ username: form.get("username"), password: form.get("password") });
  });
  if ($("guest")) $("guest").addEventListener("click", function () { openSession({}); });
  $("retry").addEventListener("click", function () { openSession(lastAttempt || {}); });
  $("wait").addEventListener("click", function () { openSession(lastAttempt || {}, true); });
  $("leave").addEventListener("click", leaveLine);
  $("new-session").addEventListener("click", function () { show("start"); say(""); });
  $("back").addEventListener("click", function () { go(-1); });
  $("next").addEventListener("click", function () { go(1); });
  $("close").addEventListener("click", closeSelected);
  $("logout").addEventListener("click", function () {
    api("DELETE", "").then(function () {
      stopHeartbeat();
      session = null;
      items = [];
      localStorage.removeItem(storageKey);
      show("start");
      say("You logged out; your license is free for someone else.");
    }, failed);
  });
  $("tabs").addEventListener("keydown", function (event) {
    var index = items.findIndex(function (i) { return i.id === current; });
    var next = { ArrowLeft: index - 1, ArrowRight: index + 1, Home: 0, End: items.length - 1 }[event.key];
    if (next === undefined || !items[next]) return;
    event.preventDefault();
    current = items[next].id;
    render();
    $("tab-" + current).focus();
  });
  // Coming back to the window: show what other browsers of the session did meanwhile.
  window.addEventListener("focus", catchUp);

  renderFlows();
  var stored = localStorage.getItem(storageKey);
  var waited = sessionStorage.getItem(lineKey);
  // Back from the account's single sign-on: the ID token rides in the fragment (never sent
  // to a server); it leaves the address bar at once and opens the session.
  var signedIn = new URLSearchParams(location.hash.slice(1)).get("id_token");
  if (signedIn) {
    history.replaceState(null, "", location.pathname);
    sessionStorage.removeItem(lineKey);  // a new open asks afresh
    show("start");
    openSession({ id_token: signedIn });
  } else if (stored) {
    sessionStorage.removeItem(lineKey);
    session = JSON.parse(stored);
    resume();
  } else if (waited) {
    rejoinLine(JSON.parse(waited));
  } else {
    show("start");
  }
})();
