// kfkit's Pulumi policy pack (PulumiPolicy.yaml). The rules are TypeScript in lib/policy, run through tsx like the
// Pulumi program (pulumi/index.js) and the kfkit CLI; @pulumi/policy and the rest resolve from the repository's
// node_modules (`npm ci` at the root), so this folder needs no install of its own.
//
// Use (needs the Pulumi CLI, from the repository root, on a stack of Pulumi.yaml):
//   pulumi preview --policy-pack ./policy
//   pulumi up --policy-pack ./policy
// Objects on the cluster that the stack does not create (an externally managed Secret, cert-manager's API) are
// declared in a policy pack config file, passed with --policy-pack-config ./policy-config.json:
//   { "kfkit-platform": { "externalObjects": [{ "apiVersion": "v1", "kind": "Secret", "namespace": "kubeflow",
//       "name": "db-credentials", "reason": "created by External Secrets" }] } }
// package.json's "version" is the pack's version (@pulumi/policy reads it); keep it equal to the repository's.
require('tsx/cjs');
const { PolicyPack } = require('@pulumi/policy');
const { policies } = require('../lib/policy/index.ts');

new PolicyPack('kfkit', { policies });
