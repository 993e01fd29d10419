import { ApiObject, App } from 'cdk8s';
import { IConstruct } from 'constructs';
import * as YAML from 'yaml';
import { BackupReferenceError, backupUnsupportedReason, DatabaseRestore, parseBackupReference } from '../components/database-backup';
import { PlatformConfig } from '../config/schema';
import { KubeflowPlatform } from '../platform';
import { collect } from '../synth/collect';
import { formatFindings, validate } from '../validate/harness';
import { K8sObject } from '../validate/types';
import { objectId } from '../validate/util';

/** A restore that cannot be rendered: a user mistake (bad --from, external database, unusable store). One line. */
export class RestoreError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'RestoreError';
  }
}

/** Every ApiObject in the tree of `scope`. */
function apiObjects(scope: IConstruct): ApiObject[] {
  return scope.node.root.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
}

const KIND_ORDER = ['ServiceAccount', 'NetworkPolicy', 'Job'];

function rank(m: K8sObject): number {
  const i = KIND_ORDER.indexOf(m.kind);
  return i < 0 ? KIND_ORDER.length : i;
}

function yamlDoc(value: unknown): string {
  // The settings of lib/synth/write.ts: no line folding, no anchors.
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * The manifests of `kfkit restore --env <env> --from <backup>`: the restore Job `metadata-db-restore-<timestamp>`
 * and what it needs (its ServiceAccount, the network policies to the database and the store), as multi-document
 * YAML for `kubectl apply -f -`. Built like the platform: the same configuration, database and store references,
 * key prefix ({@link PlatformConfig} `backup.prefix`) and images; checked with the validation harness in the
 * context of the whole platform. Deterministic.
 *
 * Throws a {@link RestoreError} (one line) when `from` is not a backup timestamp or key under the prefix, when the
 * database is not in the cluster, or when the store cannot be used by the S3 client.
 */
export function renderRestore(config: PlatformConfig, from: string): string {
  if (config.database.type === 'external') {
    throw new RestoreError(
      `the ${config.database.engine} database at ${config.database.host} is external: restore it with its service ` +
      '(RDS snapshot or point-in-time restore, Cloud SQL backups); kfkit restores only the in-cluster database',
    );
  }
  const prefix = config.backup.prefix;
  try {
    parseBackupReference(prefix, from);
  } catch (e) {
    if (e instanceof BackupReferenceError) throw new RestoreError(`--from: ${e.message}`);
    throw e;
  }
  const app = new App();
  const platform = new KubeflowPlatform(app, 'kfkit', { config });
  const store = platform.artifactStore;
  const unsupported = backupUnsupportedReason(platform.database, store);
  if (unsupported !== undefined) throw new RestoreError(unsupported);

  const before = new Set(apiObjects(app));
  const restore = new DatabaseRestore(platform, 'DatabaseRestore', {
    namespace: platform.platformNamespace.name, database: platform.database, store, prefix, from,
  });
  const added = apiObjects(app).filter((o) => !before.has(o));
  const manifests = added.map((o) => o.toJson() as K8sObject).sort((a, b) =>
    rank(a) - rank(b) || a.kind.localeCompare(b.kind) || (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '')
    || a.metadata.name.localeCompare(b.metadata.name));

  // What the restore adds must pass the harness in the context of the platform it runs in.
  const ids = new Set(manifests.map(objectId));
  const findings = validate(collect(platform)).filter((f) => ids.has(f.object));
  if (findings.length > 0) throw new Error(`kfkit restore: the restore manifests have validation findings (a kfkit bug):\n${formatFindings(findings)}`);

  const ns = platform.platformNamespace.name;
  const header = [
    `# kfkit restore: loads s3://${restore.location.bucket}/${restore.backup.key} into the in-cluster ${platform.database.engine} database (namespace ${ns}).`,
    '# The restore replaces every database the backup contains. Stop their clients first (scale Kubeflow Pipelines, ML Metadata',
    '# and Katib to 0 replicas): the Job refuses to run while they are connected.',
    `# Apply: kubectl apply -f <this file>; follow: kubectl -n ${ns} logs -f job/${restore.jobName} --all-containers`,
  ].join('\n');
  return `${header}\n${manifests.map((m) => `---\n${yamlDoc(m)}`).join('')}`;
}
