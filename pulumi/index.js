// Pulumi entry point (Pulumi.yaml `main`): runs the TypeScript program through tsx, like the kfkit CLI.
require('tsx/cjs');
const pulumi = require('@pulumi/pulumi');
const { program } = require('./program.ts');
module.exports = program(pulumi.getStack(), new pulumi.Config('kfkit'));
