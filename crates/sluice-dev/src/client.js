// sluice live reload: injected into HTML pages by `sluice dev`.
// Events from /__sluice/events: `css` swaps the matching stylesheets in place, `reload`
// reloads the page, `errors` shows the errors in force in an overlay (replacing what it
// showed), `clear` removes it. The overlay lives in a shadow root, so no page CSS reaches it.
(function () {
  "use strict";
  if (window.__sluiceClient) return;
  // Public status, for people debugging a page (and for tests): connected once sluice said
  // hello; `errors` is what the overlay shows.
  var status = window.__sluiceClient = { connected: false, errors: [] };

  var instance = null;
  var host = null;
  var dismissed = false;

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

  // The overlay's own styles. `:host` rules are !important: for important declarations the
  // shadow root's win over the page's, and `all: initial` stops inherited page styles.
  var STYLE =
    ":host{all:initial!important;position:fixed!important;inset:0!important;" +
    "z-index:2147483647!important;display:block!important;visibility:visible!important;opacity:1!important}" +
    ".backdrop{position:absolute;inset:0;overflow:auto;background:rgba(15,12,28,.88);" +
    "font:14px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:#f4f4f5}" +
    ".panel{box-sizing:border-box;max-width:960px;margin:6vh auto;padding:24px 28px;" +
    "background:#1c1a29;border-top:4px solid #f87171;border-radius:6px;box-shadow:0 12px 40px rgba(0,0,0,.5)}" +
    "header{display:flex;align-items:baseline;gap:12px;margin-bottom:16px}" +
    "h1{margin:0;font-size:18px;font-weight:600;color:#fca5a5}" +
    ".note{flex:1;color:#a1a1aa;font-size:13px}" +
    "button{all:unset;cursor:pointer;color:#a1a1aa;font-size:20px;line-height:1;padding:0 4px}" +
    "button:hover{color:#fff}" +
    ".error{margin:0 0 20px}" +
    ".where{font:13px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#93c5fd;margin-bottom:4px}" +
    "a.where{display:block;text-decoration:underline;cursor:pointer}" +
    ".message{margin:0 0 8px;white-space:pre-wrap;font:600 14px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#fafafa}" +
    ".frame{margin:0;padding:10px 0;overflow-x:auto;background:#111019;border-radius:4px;" +
    "font:13px/1.6 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#d4d4d8;tab-size:4}" +
    ".frame div{white-space:pre;padding:0 14px}" +
    ".frame .current{background:rgba(248,113,113,.14);color:#fff}" +
    ".frame .caret{color:#f87171;font-weight:700}" +
    ".gutter{display:inline-block;min-width:3ch;text-align:right;margin-right:12px;color:#71717a;user-select:none}" +
    ".current .gutter{color:#fca5a5}";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function locationOf(e) {
    if (!e.file) return "";
    return e.file + (e.line ? ":" + e.line + (e.column ? ":" + e.column : "") : "");
  }

  // The source line, the caret under the column, and the lines around it.
  function frame(e) {
    var box = el("pre", "frame");
    var width = String(e.frame[e.frame.length - 1].line).length;
    e.frame.forEach(function (l) {
      var row = el("div", l.line === e.line ? "current" : "");
      var number = String(l.line);
      while (number.length < width) number = " " + number;
      row.appendChild(el("span", "gutter", number));
      row.appendChild(document.createTextNode(l.text));
      box.appendChild(row);
      if (l.line === e.line && e.column && e.column <= l.text.length + 1) {
        var pad = "";
        var chars = Array.from(l.text);
        for (var i = 0; i < e.column - 1 && i < chars.length; i++) pad += chars[i] === "\t" ? "\t" : " ";
        var caret = el("div", "caret");
        caret.appendChild(el("span", "gutter", ""));
        caret.appendChild(document.createTextNode(pad + "^"));
        box.appendChild(caret);
      }
    });
    return box;
  }

  function render() {
    var errors = status.errors;
    if (!errors.length || dismissed) {
      if (host && host.parentNode) host.parentNode.removeChild(host);
      host = null;
      return;
    }
    if (!host) {
      host = document.createElement("sluice-error-overlay");
      host.id = "sluice-error-overlay";
      host.attachShadow({ mode: "open" });
      document.documentElement.appendChild(host);
    }
    var root = host.shadowRoot;
    while (root.firstChild) root.removeChild(root.firstChild);
    root.appendChild(el("style", "", STYLE));
    var backdrop = el("div", "backdrop");
    var panel = el("div", "panel");
    panel.setAttribute("role", "alertdialog");
    var head = el("header");
    head.appendChild(el("h1", "", errors.length === 1 ? "sluice: build failed" : "sluice: build failed (" + errors.length + " errors)"));
    head.appendChild(el("span", "note", "the last good output is still served; this goes away when the file is fixed"));
    var close = el("button", "", "\u00d7");
    close.setAttribute("title", "hide until the next error (Esc)");
    close.addEventListener("click", function () { dismissed = true; render(); });
    head.appendChild(close);
    panel.appendChild(head);
    errors.forEach(function (e) {
      var item = el("section", "error");
      var where = locationOf(e);
      if (where) {
        var label = el(e.link ? "a" : "div", "where", where);
        if (e.link) {
          label.href = e.link;
          label.title = "open in your editor";
        }
        item.appendChild(label);
      }
      item.appendChild(el("pre", "message", e.message));
      if (e.frame && e.frame.length) item.appendChild(frame(e));
      panel.appendChild(item);
    });
    backdrop.appendChild(panel);
    root.appendChild(backdrop);
  }

  function show(errors) {
    status.errors = errors;
    dismissed = false;
    render();
  }

  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && host) { dismissed = true; render(); }
  });

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
      show([]); // the stream sends the errors in force right after `hello`
    });
    source.addEventListener("reload", function () { location.reload(); });
    source.addEventListener("css", function (e) { swap(JSON.parse(e.data)); });
    source.addEventListener("errors", function (e) { show(JSON.parse(e.data)); });
    source.addEventListener("clear", function () { show([]); });
    source.addEventListener("error", function () {
      // A connection error: EventSource reconnects by itself.
      status.connected = false;
    });
  }

  connect();
})();
