// Package entry for JavaScript consumers (and cdk8s validation plugins): loads the TypeScript library through tsx.
require('tsx/cjs');
module.exports = require('./lib/index.ts');
