#!/usr/bin/env node
require('tsx/cjs');
require('../bench/bench.ts');
