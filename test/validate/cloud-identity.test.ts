import { checkStaticCloudKeys, STATIC_CLOUD_KEYS_RULE } from '../../lib/validate/cloud-identity';
import { K8sObject } from '../../lib/validate/types';
import { at, container, deployment, input } from './fixtures';

function sa(name: string, annotations: Record<string, string> = {}): K8sObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: 'app', annotations } };
}

const keyEnv = [
  { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'keys', key: 'accesskey' } } },
  { name: 'AWS_REGION', value: 'eu-west-1' },
];

describe('static-cloud-keys', () => {
  test('static AWS keys in a pod whose ServiceAccount has an IRSA role are reported', () => {
    const objects = [
      at(sa('runner', { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kfp' })),
      at(deployment('app', { pod: { serviceAccountName: 'runner' }, containers: [container({ env: keyEnv })] })),
    ];
    expect(checkStaticCloudKeys(input(objects))).toEqual([{
      rule: STATIC_CLOUD_KEYS_RULE,
      object: 'Deployment/app/app',
      path: 'spec.template.spec.containers[0].env[0]',
      message: 'env AWS_ACCESS_KEY_ID shadows the IRSA role of ServiceAccount runner; remove it and let the SDK use the role',
    }]);
  });

  test('the same keys without a role are not this rule\'s business', () => {
    const objects = [at(sa('runner')), at(deployment('app', { pod: { serviceAccountName: 'runner' }, containers: [container({ env: keyEnv })] }))];
    expect(checkStaticCloudKeys(input(objects))).toEqual([]);
  });

  test('a role without keys passes', () => {
    const objects = [
      at(sa('runner', { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/kfp' })),
      at(deployment('app', { pod: { serviceAccountName: 'runner' }, containers: [container({ env: [{ name: 'AWS_REGION', value: 'eu-west-1' }] })] })),
    ];
    expect(checkStaticCloudKeys(input(objects))).toEqual([]);
  });

  test('GOOGLE_APPLICATION_CREDENTIALS next to Workload Identity is reported', () => {
    const objects = [
      at(sa('runner', { 'iam.gke.io/gcp-service-account': 'kfp@proj.iam.gserviceaccount.com' })),
      at(deployment('app', { pod: { serviceAccountName: 'runner' }, containers: [container({ env: [{ name: 'GOOGLE_APPLICATION_CREDENTIALS', value: '/var/key.json' }] })] })),
    ];
    expect(checkStaticCloudKeys(input(objects)).map((f) => f.message)).toEqual([
      'env GOOGLE_APPLICATION_CREDENTIALS shadows the Workload Identity of ServiceAccount runner; remove it and let the SDK use the role',
    ]);
  });
});
