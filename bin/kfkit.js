#!/usr/bin/env node
// Entry point: runs the TypeScript CLI through tsx, so a checkout needs no build step.
require('tsx/cjs');
Promise.resolve(require('../lib/cli/main.ts').run(process.argv.slice(2))).then((code) => { process.exitCode = code; });
