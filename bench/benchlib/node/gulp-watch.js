// bench: bedrock's gulp media workflow, gulp 5 + gulp-watch:
//   gulp.src('media/**/*').pipe(watch('media/**/*')).pipe(gulp.dest(OUT))
// `src` gets {encoding: false}: gulp 5 reads as utf8 by default and would corrupt every png/woff2
// of the initial copy (copies after a change are Buffers either way).
// Usage (cwd = the project): node gulp-watch.js SRC_DIR OUT_DIR
// stdout, one JSON object a line: {"event":"ready",...} once the initial copy is written and the
// watcher is ready; then {"event":"copied","path":REL,"t_ms":T} per file gulp.dest wrote, T on
// CLOCK_MONOTONIC (process.hrtime), the clock of Python's time.monotonic().
'use strict';
const gulp = require('gulp');
const watch = require('gulp-watch');

const [src, out] = process.argv.slice(2);
const glob = src.replace(/\/+$/, '') + '/**/*';
const now = () => Number(process.hrtime.bigint()) / 1e6;
const started = now();

let read = 0;          // vinyls (files and folders) the initial src emitted
let srcDone = false;
let written = 0;       // vinyls gulp.dest passed on (written) so far
let watcherReady = false;
let announced = false;

function maybeReady() {
  if (!announced && srcDone && watcherReady && written >= read) {
    announced = true;
    console.log(JSON.stringify({event: 'ready', written, elapsed_ms: now() - started, t_ms: now()}));
  }
}

const source = gulp.src(glob, {encoding: false});
source.on('data', () => { read++; });
source.on('end', () => { srcDone = true; maybeReady(); });

const watcher = watch(glob);
watcher.on('ready', () => { watcherReady = true; maybeReady(); });

source.pipe(watcher).pipe(gulp.dest(out)).on('data', (file) => {
  written++;
  if (announced) {
    console.log(JSON.stringify({event: 'copied', path: file.relative, t_ms: now()}));
  } else {
    maybeReady();
  }
}).on('error', (e) => console.error('gulp.dest:', e.message));

process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
