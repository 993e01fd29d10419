#!/usr/bin/env node
// Entry point. Runs the bundled CLI (build/kfkit.cjs, made by `npm ci` through tools/bundle-cli.js) while it is newer
// than every TypeScript source; otherwise the TypeScript itself through tsx, so a checkout needs no build step and an
// edited one never runs stale code.
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const bundle = path.join(root, 'build', 'kfkit.cjs');

/** Newest modification time (ms) of the sources the bundle is made of, or Infinity when one cannot be read. */
function newestSource() {
  let newest = 0;
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs);
    }
  };
  try {
    walk(path.join(root, 'lib'));
    walk(path.join(root, 'stacks'));
  } catch {
    return Infinity;
  }
  return newest;
}

function fresh() {
  try {
    return fs.statSync(bundle).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

let cli;
if (fresh()) {
  cli = require(bundle);
} else {
  require('tsx/cjs');
  cli = require('../lib/cli/main.ts');
}
Promise.resolve(cli.run(process.argv.slice(2))).then((code) => { process.exitCode = code; });
