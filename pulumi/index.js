// Pulumi entry point (Pulumi.yaml `main`): runs the TypeScript program through tsx, like the kfkit CLI.
// `program` is async (it awaits the cloud stack's outputs before building anything): the exported promise is what
// Pulumi awaits, and its value ({ waves }) becomes the stack outputs.
require('tsx/cjs');
const pulumi = require('@pulumi/pulumi');
const { program } = require('./program.ts');
module.exports = program(pulumi.getStack(), new pulumi.Config('kfkit'));
