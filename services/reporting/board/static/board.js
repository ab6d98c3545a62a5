// The season board's live figures: one EventSource on /board/live (reporting's coverage.updated).
// A changed figure is written where the page shows it; the lists below it are fetched again.
(function () {
  "use strict";
  var root = document.querySelector("[data-live]");
  var status = document.getElementById("live");
  if (!root || !window.EventSource) {
    if (status) { status.textContent = ""; }
    return;
  }
  var lang = document.documentElement.lang;
  var scope = root.getAttribute("data-unit-root");
  var connected = false;
  var updates = 0;
  var refresh = null;

  function group(n) {
    return String(Math.trunc(n)).replace(/\B(?=(\d{3})+(?!\d))/g, lang === "vi" ? "." : ",");
  }
  function millions(v) {
    var text = (v / 1000000).toFixed(1).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return lang === "vi" ? text.replace(/[.,]/g, function (c) { return c === "." ? "," : "."; }) : text;
  }
  function percent(v) {
    var text = (v * 100).toFixed(1);
    return (lang === "vi" ? text.replace(".", ",") : text) + " %";
  }
  function show(unit, figures) {
    var changed = false;
    document.querySelectorAll('[data-unit="' + unit + '"]').forEach(function (el) {
      var field = el.getAttribute("data-field");
      var meter = el.getAttribute("data-meter");
      if (meter && meter in figures) { el.value = figures[meter]; return; }
      if (!field || !(field in figures)) { return; }
      var value = figures[field];
      var text = field === "coverage" ? percent(value) : field === "cost_vnd" ? millions(value) : group(value);
      if (el.textContent !== text) {
        changed = true;
        el.textContent = text;
        el.classList.remove("changed");
        void el.offsetWidth;
        el.classList.add("changed");
      }
    });
    return changed;
  }
  function reload(section) {
    var url = section.getAttribute("data-refresh");
    fetch(url, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) { return; }
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById(section.id);
      if (fresh) { section.replaceWith(document.adoptNode(fresh)); }
    }).catch(function () {});
  }
  function live(on) {
    status.className = on ? "live on" : "live off";
    status.textContent = status.getAttribute(on ? "data-on" : "data-off");
    document.body.setAttribute("data-live-state", on ? "on" : "off");
  }

  var events = new EventSource(root.getAttribute("data-live"));
  events.addEventListener("ready", function () {
    if (connected) { window.location.reload(); return; }  // back after a break: read everything again
    connected = true;
    live(true);
  });
  events.addEventListener("coverage", function (e) {
    var d = JSON.parse(e.data);
    if (!show(d.unit_id, d.figures)) { return; }  // the figures as the stream opens: usually the page's own
    updates += 1;
    document.body.setAttribute("data-updates", String(updates));
    if (d.unit_id === scope) {
      clearTimeout(refresh);
      refresh = setTimeout(function () {
        document.querySelectorAll("[data-refresh]").forEach(reload);
      }, 500);
    }
  });
  events.addEventListener("expired", function () {
    events.close();
    window.location.href = "/board/login";
  });
  events.onerror = function () { live(false); };
})();
