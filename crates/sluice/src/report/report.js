// sluice build report: draws the report from the JSON in #sluice-report-data — a squarified
// treemap of what ships (folder → bundle → member; click a folder or bundle to zoom in, the
// path above it to zoom out), sized by the measure chosen, and the tables under it. Text goes
// in with textContent only; nothing is fetched.
(function () {
  'use strict';

  var data = JSON.parse(document.getElementById('sluice-report-data').textContent);
  var MEASURES = [
    ['raw', 'raw', 'before minifying: a bundle counts its members\u2019 own bytes'],
    ['min', 'minified', 'the files as they ship'],
    ['gzip', 'gzip', 'the .gz copy a browser receives (the file itself without one)'],
    ['br', 'Brotli', 'the .br copy a browser receives (the file itself without one)']
  ];
  var SCOPES = [
    ['bundles', 'bundles'],
    ['all', 'everything that ships']
  ];
  var state = { measure: 'min', scope: data.bundles.length ? 'bundles' : 'all', zoom: '' };
  var bundleByOutput = {};
  data.bundles.forEach(function (b) { bundleByOutput[b.output] = b; });

  // ------------------------------------------------------------------ formatting

  function size(bytes) {
    var b = Math.abs(bytes);
    var text;
    if (b < 1000) { text = b + ' B'; }
    else if (b < 1e6) { text = (b / 1e3).toFixed(1) + ' kB'; }
    else if (b < 1e9) { text = (b / 1e6).toFixed(1) + ' MB'; }
    else { text = (b / 1e9).toFixed(2) + ' GB'; }
    return bytes < 0 ? '\u2212' + text : text;
  }
  function signed(bytes) { return bytes > 0 ? '+' + size(bytes) : bytes < 0 ? size(bytes) : '\u00b10'; }
  function percent(x) { return (x * 100).toFixed(x < 0.1 ? 1 : 0) + ' %'; }
  function measureName(m) {
    for (var i = 0; i < MEASURES.length; i++) { if (MEASURES[i][0] === m) { return MEASURES[i][1]; } }
    return m;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') { node.textContent = attrs[k]; }
        else if (k === 'cls') { node.className = attrs[k]; }
        else { node.setAttribute(k, attrs[k]); }
      });
    }
    (children || []).forEach(function (c) {
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return node;
  }

  // A table: headers are strings (a leading '#' marks a number column), cells strings or
  // {text, cls} objects.
  function table(headers, rows) {
    var numeric = headers.map(function (h) { return h.charAt(0) === '#'; });
    var head = el('tr', null, headers.map(function (h, i) {
      return el('th', { text: numeric[i] ? h.slice(1) : h, cls: numeric[i] ? 'n' : '' });
    }));
    var body = rows.map(function (row) {
      var tr = el('tr', row.cls ? { cls: row.cls } : null);
      row.cells.forEach(function (c, i) {
        var cell = typeof c === 'object' && c !== null ? c : { text: String(c) };
        var cls = (numeric[i] ? 'n ' : '') + (cell.cls || '');
        var td = el('td', { cls: cls.trim() });
        if (cell.node) { td.appendChild(cell.node); } else { td.textContent = cell.text; }
        tr.appendChild(td);
      });
      return tr;
    });
    return el('table', null, [el('thead', null, [head]), el('tbody', null, body)]);
  }
  function row(cells, cls) { return { cells: cells, cls: cls }; }

  // ------------------------------------------------------------------ the tree

  function buildTree(scope) {
    var root = { id: '', name: 'output', kind: 'root', children: [] };
    var folders = { '': root };
    function folder(path) {
      if (folders[path]) { return folders[path]; }
      var i = path.lastIndexOf('/');
      var parent = folder(i < 0 ? '' : path.slice(0, i));
      var node = { id: path + '/', name: path.slice(i + 1) + '/', kind: 'folder', children: [], parent: parent };
      parent.children.push(node);
      folders[path] = node;
      return node;
    }
    data.files.forEach(function (f) {
      if (scope === 'bundles' && f.kind !== 'bundle') { return; }
      var i = f.path.lastIndexOf('/');
      var parent = folder(i < 0 ? '' : f.path.slice(0, i));
      var b = bundleByOutput[f.path];
      var node = {
        id: f.path, name: f.path.slice(i + 1), kind: b ? 'bundle' : 'file', file: f,
        sizes: f.sizes, parent: parent
      };
      if (b) {
        node.bundle = b;
        node.children = b.members.map(function (m) {
          return { id: f.path + '\u0000' + m.path, name: m.path, kind: 'member', member: m, bundle: b, sizes: m.sizes, parent: node };
        });
        var o = b.other;
        if (o.raw || o.min || o.gzip || o.br) {
          node.children.push({
            id: f.path + '\u0000', name: '(wrapper, separators, comments)', kind: 'other',
            bundle: b, sizes: o, parent: node
          });
        }
      }
      parent.children.push(node);
    });
    return root;
  }

  function value(node, m) {
    if (node.children && node.children.length) {
      var sum = 0;
      node.children.forEach(function (c) { sum += value(c, m); });
      return sum;
    }
    return node.sizes ? node.sizes[m] : 0;
  }

  function find(node, id) {
    if (node.id === id) { return node; }
    for (var i = 0; node.children && i < node.children.length; i++) {
      var found = find(node.children[i], id);
      if (found) { return found; }
    }
    return null;
  }

  // ------------------------------------------------------------------ squarified layout

  function worst(row, side) {
    var s = 0, max = 0, min = Infinity;
    row.forEach(function (r) { s += r.a; max = Math.max(max, r.a); min = Math.min(min, r.a); });
    var s2 = s * s, side2 = side * side;
    return Math.max(side2 * max / s2, s2 / (side2 * min));
  }

  function place(row, rect, out) {
    var s = 0;
    row.forEach(function (r) { s += r.a; });
    if (rect.w >= rect.h) {
      var cw = rect.h > 0 ? s / rect.h : 0, cy = rect.y;
      row.forEach(function (r) {
        var rh = cw > 0 ? r.a / cw : 0;
        out.push({ node: r.node, x: rect.x, y: cy, w: cw, h: rh });
        cy += rh;
      });
      return { x: rect.x + cw, y: rect.y, w: Math.max(0, rect.w - cw), h: rect.h };
    }
    var rh2 = rect.w > 0 ? s / rect.w : 0, cx = rect.x;
    row.forEach(function (r) {
      var rw = rh2 > 0 ? r.a / rh2 : 0;
      out.push({ node: r.node, x: cx, y: rect.y, w: rw, h: rh2 });
      cx += rw;
    });
    return { x: rect.x, y: rect.y + rh2, w: rect.w, h: Math.max(0, rect.h - rh2) };
  }

  // Rectangles for `items` ({node, v}, largest first) filling `rect`; items of no size get
  // an empty rectangle (they stay in the page, zero-sized).
  function squarify(items, rect) {
    var out = [];
    var positive = items.filter(function (i) { return i.v > 0; });
    var total = positive.reduce(function (s, i) { return s + i.v; }, 0);
    var rest = rect;
    if (total > 0 && rect.w > 0 && rect.h > 0) {
      var scale = rect.w * rect.h / total;
      var queue = positive.map(function (i) { return { node: i.node, a: i.v * scale }; });
      var current = [];
      while (queue.length) {
        var side = Math.min(rest.w, rest.h);
        if (!current.length || worst(current.concat([queue[0]]), side) <= worst(current, side)) {
          current.push(queue.shift());
        } else {
          rest = place(current, rest, out);
          current = [];
        }
      }
      if (current.length) { rest = place(current, rest, out); }
    }
    items.forEach(function (i) {
      if (!(i.v > 0 && total > 0 && rect.w > 0 && rect.h > 0)) {
        out.push({ node: i.node, x: rest.x, y: rest.y, w: 0, h: 0 });
      }
    });
    return out;
  }

  function layout(node, rect, isRoot, m, out) {
    if (!isRoot) { out.push({ node: node, x: rect.x, y: rect.y, w: rect.w, h: rect.h }); }
    if (!node.children || !node.children.length) { return; }
    var header = isRoot ? 0 : (rect.h > 34 && rect.w > 30 ? 16 : 0);
    var pad = isRoot ? 0 : (rect.w > 8 && rect.h > 8 ? 2 : 0);
    var inner = {
      x: rect.x + pad, y: rect.y + header,
      w: Math.max(0, rect.w - 2 * pad), h: Math.max(0, rect.h - header - pad)
    };
    var items = node.children.map(function (c) { return { node: c, v: value(c, m) }; });
    items.sort(function (a, b) { return b.v - a.v || (a.node.name < b.node.name ? -1 : 1); });
    squarify(items, inner).forEach(function (r) {
      layout(r.node, { x: r.x, y: r.y, w: r.w, h: r.h }, false, m, out);
    });
  }

  // ------------------------------------------------------------------ colours

  var HUES = { css: 212, js: 42, img: 140, font: 285, map: 0, other: 0, data: 18 };
  function typeOf(path) {
    var ext = path.slice(path.lastIndexOf('.') + 1).toLowerCase();
    if (ext === 'css' || ext === 'scss' || ext === 'sass' || ext === 'less') { return 'css'; }
    if (ext === 'js' || ext === 'mjs' || ext === 'ts' || ext === 'tsx' || ext === 'jsx') { return 'js'; }
    if (/^(png|jpe?g|gif|webp|avif|svg|ico)$/.test(ext)) { return 'img'; }
    if (/^(woff2?|ttf|otf|eot)$/.test(ext)) { return 'font'; }
    if (ext === 'map') { return 'map'; }
    return 'data';
  }
  function colour(node, index) {
    if (node.kind === 'folder' || node.kind === 'bundle') { return ''; }
    if (node.kind === 'other') { return 'hsl(250, 6%, 80%)'; }
    var type = node.kind === 'member' ? node.bundle.kind : typeOf(node.id);
    if (type === 'map') { return 'hsl(250, 5%, 86%)'; }
    var light = 62 + (index % 5) * 5;
    return 'hsl(' + HUES[type] + ', 62%, ' + light + '%)';
  }

  // ------------------------------------------------------------------ the page

  var app = document.getElementById('app');
  var generated = new Date(data.generated_ms);
  var title = el('h1', { text: 'sluice build report' });
  var meta = el('p', { cls: 'meta' }, [
    data.project + ' \u2192 ' + data.output + ' \u00b7 ' + generated.toLocaleString() + ' \u00b7 ' +
    (data.hashed ? 'Django manifest names' : 'no hashing') + ' \u00b7 ' +
    (data.minified ? 'minified bundles' : 'bundles not minified') + ' \u00b7 ' +
    (data.encodings.length ? 'compressed copies: ' + data.encodings.join(', ') : 'no compressed copies') + ' ',
    el('span', {
      cls: 'status ' + (data.shipped ? 'ok' : 'failed'),
      text: data.shipped ? 'shipped' : 'not shipped: over budget, the output was left as it was'
    })
  ]);
  app.appendChild(title);
  app.appendChild(meta);

  function buttons(options, current, attr, onPick) {
    return el('span', { cls: 'group', role: 'group' }, options.map(function (o) {
      var b = el('button', { type: 'button', text: o[1], title: o[2] || o[1] });
      b.setAttribute(attr, o[0]);
      b.setAttribute('aria-pressed', String(o[0] === current));
      b.addEventListener('click', function () { onPick(o[0]); });
      return b;
    }));
  }
  var controls = el('div', { cls: 'controls' });
  var crumbs = el('div', { cls: 'crumbs', id: 'crumbs' });
  var map = el('div', { id: 'treemap', role: 'img', 'aria-label': 'treemap of what ships' });
  var hover = el('p', { id: 'hover', text: 'Point at a rectangle for its sizes; click a folder or bundle to zoom in.' });
  app.appendChild(controls);
  app.appendChild(crumbs);
  app.appendChild(map);
  app.appendChild(hover);
  var sections = el('div', { id: 'sections' });
  app.appendChild(sections);

  function renderControls() {
    controls.textContent = '';
    controls.appendChild(el('span', null, ['size by ', buttons(MEASURES, state.measure, 'data-measure', function (m) {
      state.measure = m;
      render();
    })]));
    controls.appendChild(el('span', null, ['show ', buttons(SCOPES, state.scope, 'data-scope', function (s) {
      state.scope = s;
      state.zoom = '';
      render();
    })]));
  }

  function describe(node) {
    var s = node.sizes || {};
    var m = state.measure;
    var parts = [
      'raw ' + size(value(node, 'raw')), 'minified ' + size(value(node, 'min')),
      'gzip ' + size(value(node, 'gzip')), 'Brotli ' + size(value(node, 'br'))
    ];
    var text = (node.kind === 'member' ? node.member.path + ' in ' + node.bundle.output : node.id || 'output') +
      ' \u2014 ' + parts.join(' \u00b7 ');
    if (node.kind === 'member') {
      text += ' \u00b7 ' + percent(node.member.share) + ' of the bundle';
      if (node.member.file !== node.member.path) { text += ' (compiled to ' + node.member.file + ')'; }
    }
    if (node.file && node.file.served !== node.file.path) { text += ' \u00b7 served as ' + node.file.served; }
    if (s && node.parent && node.parent.kind !== 'root') {
      var total = value(node.parent, m);
      if (total > 0 && node.kind !== 'member') { text += ' \u00b7 ' + percent(value(node, m) / total) + ' of ' + (node.parent.id || 'output'); }
    }
    return text;
  }

  function renderMap(tree) {
    var root = find(tree, state.zoom) || tree;
    state.zoom = root.id;
    crumbs.textContent = '';
    var trail = [];
    for (var n = root; n; n = n.parent) { trail.unshift(n); }
    trail.forEach(function (n, i) {
      if (i > 0) { crumbs.appendChild(document.createTextNode(' \u203a ')); }
      var b = el('button', { type: 'button', text: n.kind === 'root' ? 'output' : n.name, 'data-zoom': n.id });
      b.disabled = n === root;
      b.addEventListener('click', function () { state.zoom = n.id; render(); });
      crumbs.appendChild(b);
    });
    crumbs.appendChild(document.createTextNode('  ' + size(value(root, state.measure)) + ' ' + measureName(state.measure)));

    map.textContent = '';
    var box = map.getBoundingClientRect();
    var rects = [];
    layout(root, { x: 0, y: 0, w: box.width - 2, h: box.height - 2 }, true, state.measure, rects);
    var frag = document.createDocumentFragment();
    rects.forEach(function (r, i) {
      var node = r.node;
      var group = !!(node.children && node.children.length);
      var div = el('div', {
        cls: 'tm-node' + (group ? ' tm-group' : '') + (r.w < 1 || r.h < 1 ? ' tm-empty' : ''),
        'data-kind': node.kind,
        'data-path': node.kind === 'member' ? node.member.path : node.id,
        'data-value': String(value(node, state.measure))
      });
      if (node.kind === 'member' || node.kind === 'other') { div.setAttribute('data-bundle', node.bundle.output); }
      div.style.left = r.x.toFixed(2) + 'px';
      div.style.top = r.y.toFixed(2) + 'px';
      div.style.width = Math.max(0, r.w).toFixed(2) + 'px';
      div.style.height = Math.max(0, r.h).toFixed(2) + 'px';
      var c = colour(node, i);
      if (c) { div.style.background = c; }
      if (r.w > 28 && r.h > 14) {
        div.appendChild(el('span', { cls: 'tm-label', text: node.name + ' ' + size(value(node, state.measure)) }));
      }
      div.addEventListener('mouseover', function (e) { e.stopPropagation(); hover.textContent = describe(node); });
      if (group) {
        div.addEventListener('click', function (e) {
          e.stopPropagation();
          state.zoom = node.id;
          render();
        });
      }
      frag.appendChild(div);
    });
    map.appendChild(frag);
  }

  // ------------------------------------------------------------------ the tables

  function section(title, note) {
    var s = el('section');
    s.appendChild(el('h2', null, [title]));
    if (note) { s.appendChild(el('p', { cls: 'note', text: note })); }
    sections.appendChild(s);
    return s;
  }

  function renderBudgets() {
    if (!data.budgets.length) { return; }
    var failed = data.budgets.filter(function (b) { return b.failed; }).length;
    var s = section('Budgets', failed ? failed + ' over budget: the build stopped before anything moved into the output.' : 'Every output within its budget.');
    s.id = 'budgets';
    var rows = data.budgets.slice().sort(function (a, b) { return (b.failed ? 1 : 0) - (a.failed ? 1 : 0); });
    s.appendChild(table(['budget', 'file', 'limit', '#size', 'result', 'set in'], rows.map(function (b) {
      var result = b.files === 0 ? { text: 'matches no output', cls: 'up' } :
        b.over ? { text: 'over by ' + size(b.over), cls: 'up' } :
        { text: size(b.limit_bytes - b.size) + ' to spare', cls: 'down' };
      return row([
        { text: b.pattern, cls: 'path' },
        { text: b.file || (b.total ? 'all ' + b.files + ' together' : '\u2014'), cls: 'path' },
        b.limit, size(b.size), result, b.origin
      ], b.failed ? 'failed' : '');
    })));
  }

  function changeRows(list) {
    var m = state.measure;
    return list.slice(0, 200).map(function (c) {
      var before = c.before ? c.before[m] : 0;
      var after = c.after ? c.after[m] : 0;
      var d = after - before;
      return row([
        { text: c.path, cls: 'path' },
        c.before ? size(before) : 'new',
        c.after ? size(after) : 'removed',
        { text: signed(d), cls: d > 0 ? 'up' : d < 0 ? 'down' : '' }
      ]);
    });
  }

  function renderChanges() {
    var ch = data.changes;
    var s = section('Changes since the previous report');
    s.id = 'changes';
    if (!ch) {
      s.appendChild(el('p', { cls: 'note', text: 'No earlier report of this output to compare with: the next one will show what changed since this one.' }));
      return;
    }
    s.appendChild(el('p', { cls: 'note', text: 'Compared with the report of ' + new Date(ch.since_ms).toLocaleString() + ', in ' + measureName(state.measure) + ' bytes (the size measure above).' }));
    if (!ch.bundles.length && !ch.files.length) {
      s.appendChild(el('p', { text: 'Nothing grew or shrank.' }));
      return;
    }
    if (ch.bundles.length) {
      s.appendChild(el('h3', { text: 'Bundles' }));
      s.appendChild(table(['bundle', '#before', '#after', '#change'], changeRows(ch.bundles)));
    }
    if (ch.files.length) {
      s.appendChild(el('h3', { text: 'Files' }));
      s.appendChild(table(['file', '#before', '#after', '#change'], changeRows(ch.files)));
      if (ch.files.length > 200) { s.appendChild(el('p', { cls: 'note', text: '\u2026 and ' + (ch.files.length - 200) + ' more.' })); }
    }
  }

  function renderBundles() {
    if (!data.bundles.length) { return; }
    var s = section('Bundles', 'Members\u2019 shares of each bundle' + (data.minified ? ', from its source map' : ', by their own size (bundles written as django-pipeline writes them have no map)') + '; gzip and Brotli bytes shared out in proportion.');
    s.id = 'bundles';
    data.bundles.forEach(function (b) {
      var d = el('details', { 'data-bundle': b.output });
      d.appendChild(el('summary', { text: b.name + ' \u2192 ' + b.output + ' \u2014 minified ' + size(b.sizes.min) + ', gzip ' + size(b.sizes.gzip) + ', Brotli ' + size(b.sizes.br) + ' (' + b.members.length + ' member' + (b.members.length === 1 ? '' : 's') + ')' }));
      var rows = b.members.map(function (m) {
        var bar = el('span', { cls: 'bar' });
        bar.style.width = Math.round(m.share * 80) + 'px';
        return row([
          { text: m.path + (m.file !== m.path ? ' \u2192 ' + m.file : ''), cls: 'path' },
          size(m.sizes.raw), size(m.sizes.min), size(m.sizes.gzip), size(m.sizes.br),
          { node: el('span', null, [bar, percent(m.share)]) },
          m.also_in.join(', ')
        ]);
      });
      rows.push(row([{ text: '(wrapper, separators, comments)', cls: 'muted' }, '', size(b.other.min), size(b.other.gzip), size(b.other.br),
        percent(b.sizes.min ? b.other.min / b.sizes.min : 0), '']));
      d.appendChild(table(['member', '#raw', '#minified', '#gzip', '#Brotli', 'share', 'also in'], rows));
      s.appendChild(d);
    });
  }

  function renderShared() {
    if (!data.bundles.length) { return; }
    var s = section('Members in more than one bundle', 'A page that loads two of these bundles downloads these files twice.');
    s.id = 'shared';
    if (!data.shared.length) { s.appendChild(el('p', { text: 'None.' })); return; }
    s.appendChild(table(['member', 'bundles', '#minified bytes, all bundles'], data.shared.map(function (m) {
      return row([{ text: m.path, cls: 'path' }, m.bundles.join(', '), size(m.bytes)]);
    })));
  }

  function renderCompiled() {
    if (!data.compiled.length) { return; }
    var s = section('Compiled sources', 'What each SCSS, LESS or TypeScript source becomes, and what it adds to the bundles it is in (minified).');
    s.id = 'compiled';
    s.appendChild(table(['source', 'compiled to', '#source', '#compiled', 'in bundles'], data.compiled.map(function (c) {
      return row([
        { text: c.source, cls: 'path' }, { text: c.output, cls: 'path' }, size(c.source_bytes), size(c.output_bytes),
        c.bundles.length ? c.bundles.map(function (b) { return b.bundle + ': ' + size(b.sizes.min) + ' (br ' + size(b.sizes.br) + ')'; }).join('; ') : '\u2014'
      ]);
    })));
  }

  function renderLargest() {
    var m = state.measure;
    var files = data.files.slice().sort(function (a, b) { return b.sizes[m] - a.sizes[m] || (a.path < b.path ? -1 : 1); }).slice(0, 25);
    var s = section('Largest files', 'By ' + measureName(m) + ' bytes (the size measure above).');
    s.id = 'largest';
    s.appendChild(table(['file', 'served as', '#raw', '#minified', '#gzip', '#Brotli'], files.map(function (f) {
      return row([{ text: f.path, cls: 'path' }, { text: f.served, cls: 'path' }, size(f.sizes.raw), size(f.sizes.min), size(f.sizes.gzip), size(f.sizes.br)]);
    })));
  }

  function renderUncompressed() {
    var u = data.uncompressed;
    var s = section('Files compression did not pay for');
    s.id = 'uncompressed';
    if (!data.encodings.length) {
      s.appendChild(el('p', { cls: 'note', text: 'This build made no compressed copies.' }));
      return;
    }
    s.appendChild(el('p', { cls: 'note', text: 'Of a type worth compressing, but no copy was kept: it would not have been at most 95 % of the file (whitenoise\u2019s rule). ' + u.skipped_files + ' more file' + (u.skipped_files === 1 ? '' : 's') + ' (' + size(u.skipped_bytes) + ') are never compressed for their type (images, fonts, archives, video).' }));
    if (!u.not_paid.length) { s.appendChild(el('p', { text: 'None.' })); return; }
    s.appendChild(table(['file', '#bytes'], u.not_paid.slice(0, 200).map(function (f) {
      return row([{ text: f[0], cls: 'path' }, size(f[1])]);
    })));
  }

  function render() {
    renderControls();
    renderMap(buildTree(state.scope));
    sections.textContent = '';
    renderBudgets();
    renderChanges();
    renderBundles();
    renderShared();
    renderCompiled();
    renderLargest();
    renderUncompressed();
  }

  window.addEventListener('resize', function () { renderMap(buildTree(state.scope)); });
  window.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && state.zoom) {
      var tree = buildTree(state.scope);
      var node = find(tree, state.zoom);
      state.zoom = node && node.parent ? node.parent.id : '';
      render();
    }
  });
  render();
  window.__sluiceReport = { state: state, render: render };
})();
