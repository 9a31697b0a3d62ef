// bench: the floor of a Node watcher: plain chokidar + fs.copyFile, mirroring SRC into OUT
// (copy on add/change, remove on unlink), initial files included (ignoreInitial: false).
// Usage: node chokidar-mirror.js SRC_DIR OUT_DIR [poll]
// `poll` sets usePolling: true (chokidar's defaults otherwise: interval 100, binaryInterval 300).
// chokidar 4 takes no globs: watching the folder is `media/**/*`.
// stdout, one JSON object a line: {"event":"ready",...} once chokidar is ready and every initial
// copy is done; then {"event":"copied","path":REL,"t_ms":T} per copy, T on CLOCK_MONOTONIC.
'use strict';
const chokidar = require('chokidar');
const fs = require('fs');
const path = require('path');

const [src, out, mode] = process.argv.slice(2);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const started = now();
const made = new Set();
let pending = 0;
let copied = 0;
let watcherReady = false;
let announced = false;

function maybeReady() {
  if (!announced && watcherReady && pending === 0) {
    announced = true;
    console.log(JSON.stringify({event: 'ready', copied, elapsed_ms: now() - started, t_ms: now()}));
  }
}

function copy(file) {
  const rel = path.relative(src, file);
  const dst = path.join(out, rel);
  const dir = path.dirname(dst);
  pending++;
  const done = (err) => {
    pending--;
    if (err) {
      console.error('copy', rel, err.message);
    } else {
      copied++;
      if (announced) console.log(JSON.stringify({event: 'copied', path: rel, t_ms: now()}));
    }
    maybeReady();
  };
  if (made.has(dir)) {
    fs.copyFile(file, dst, done);
  } else {
    fs.mkdir(dir, {recursive: true}, (err) => {
      if (err) return done(err);
      made.add(dir);
      fs.copyFile(file, dst, done);
    });
  }
}

const watcher = chokidar.watch(src, {usePolling: mode === 'poll', ignoreInitial: false});
watcher
  .on('add', copy)
  .on('change', copy)
  .on('unlink', (file) => fs.rm(path.join(out, path.relative(src, file)), {force: true}, () => {}))
  .on('error', (e) => console.error('chokidar:', e.message))
  .on('ready', () => { watcherReady = true; maybeReady(); });

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
