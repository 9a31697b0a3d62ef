// sluice live reload: injected into HTML pages by `sluice dev`.
// Events from /__sluice/events: `css` swaps the matching stylesheets in place, `reload`
// reloads the page, `error` shows an overlay until the next good change set.
(function () {
  "use strict";
  if (window.__sluiceClient) return;
  // Public status, for people debugging a page (and for tests): connected once sluice said hello.
  var status = window.__sluiceClient = { connected: false };

  var instance = null;
  var errors = [];
  var overlay = null;

  function pathOf(url) {
    var u = new URL(url, location.href);
    return u.origin === location.origin ? u.pathname : u.origin + u.pathname;
  }

  function refresh(link) {
    if (!link.parentNode) return; // replaced already
    var next = link.cloneNode(false);
    var u = new URL(link.href, location.href);
    u.searchParams.set("sluice", String(Date.now()));
    next.href = u.href;
    var done = function () { if (link.parentNode) link.parentNode.removeChild(link); };
    next.addEventListener("load", done);
    next.addEventListener("error", done);
    link.parentNode.insertBefore(next, link.nextSibling);
  }

  function swap(urls) {
    var wanted = urls.map(pathOf);
    var links = Array.prototype.slice.call(document.querySelectorAll('link[rel~="stylesheet"]'));
    var matched = links.filter(function (l) { return wanted.indexOf(pathOf(l.href)) >= 0; });
    if (!matched.length) {
      // Imported by another stylesheet, or not on this page: refresh this site's sheets.
      matched = links.filter(function (l) { return new URL(l.href, location.href).origin === location.origin; });
    }
    matched.forEach(refresh);
  }

  function render() {
    if (!errors.length) {
      if (overlay && overlay.parentNode) overlay.parentNode.removeChild(overlay);
      overlay = null;
      return;
    }
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "sluice-error-overlay";
      overlay.setAttribute("style",
        "position:fixed;inset:0;z-index:2147483647;overflow:auto;padding:2em;" +
        "background:rgba(24,24,27,.94);color:#fafafa;font:14px/1.5 ui-monospace,monospace");
      document.documentElement.appendChild(overlay);
    }
    overlay.textContent = "";
    var title = document.createElement("div");
    title.setAttribute("style", "color:#f87171;font-weight:bold;font-size:16px;margin-bottom:1em");
    title.textContent = "sluice: build failed (the last good output is still served)";
    overlay.appendChild(title);
    errors.forEach(function (e) {
      var item = document.createElement("pre");
      item.setAttribute("style", "white-space:pre-wrap;margin:0 0 1em");
      var where = e.file ? e.file + (e.line ? ":" + e.line + (e.column ? ":" + e.column : "") : "") : "";
      item.textContent = (where ? where + "\n" : "") + e.message;
      overlay.appendChild(item);
    });
  }

  function connect() {
    var source = new EventSource("/__sluice/events");
    source.addEventListener("hello", function (e) {
      var id = JSON.parse(e.data).instance;
      if (instance !== null && instance !== id) {
        // sluice restarted: whatever changed meanwhile is only in a fresh page.
        location.reload();
        return;
      }
      instance = id;
      status.connected = true;
      errors = []; // the stream replays the errors in force right after `hello`
      render();
    });
    source.addEventListener("reload", function () { location.reload(); });
    source.addEventListener("css", function (e) {
      errors = [];
      render();
      swap(JSON.parse(e.data));
    });
    source.addEventListener("error", function (e) {
      if (!e.data) return; // a connection error: EventSource reconnects by itself
      errors.push(JSON.parse(e.data));
      render();
    });
  }

  connect();
})();
