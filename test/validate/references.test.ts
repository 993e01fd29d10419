import { checkReferences } from '../../lib/validate/references';
import { K8sObject, PlacedObject } from '../../lib/validate/types';
import {
  at, baseline, certificate, clusterRole, clusterRoleBinding, configMap, container, cronJob, deployment, input, namespace, role,
  roleBinding, secret, service, serviceAccount, statefulSet, validatingWebhook, WAVES,
} from './fixtures';

/** The namespace `app` plus the objects (controllers wave unless placed). */
function check(objects: (K8sObject | PlacedObject)[], extra: Parameters<typeof input>[1] = {}) {
  const placed = objects.map((o) => ('manifest' in o ? o as PlacedObject : at(o)));
  return checkReferences(input([at(namespace('app'), WAVES.namespaces), ...placed], extra));
}

function lines(objects: (K8sObject | PlacedObject)[], extra: Parameters<typeof input>[1] = {}): string[] {
  return check(objects, extra).map((f) => `${f.rule} ${f.object} ${f.path ?? ''}: ${f.message}`);
}

/** A Deployment with a Service selecting it, so that only the reference under test can fail. */
function app(options: Parameters<typeof deployment>[1]): K8sObject[] {
  return [deployment('app', options), service('app')];
}

describe('dangling-reference', () => {
  test('a clean stack has no findings', () => {
    expect(checkReferences(input(baseline()))).toEqual([]);
  });

  describe('pod templates', () => {
    test('serviceAccountName must exist; default always does', () => {
      expect(check(app({ pod: { serviceAccountName: 'default' } }))).toEqual([]);
      expect(check([...app({ pod: { serviceAccountName: 'sa' } }), serviceAccount('sa')])).toEqual([]);
      expect(check(app({ pod: { serviceAccountName: 'missing-sa' } }))).toEqual([{
        rule: 'dangling-reference',
        object: 'Deployment/app/app',
        path: 'spec.template.spec.serviceAccountName',
        message: 'ServiceAccount app/missing-sa not found: not in the output, not declared in externalObjects, '
          + 'not provided (kfkit.dev/provides) by any object',
      }]);
    });

    test('a ServiceAccount of another namespace does not count', () => {
      const findings = check([...app({ pod: { serviceAccountName: 'sa' } }), at(namespace('other'), WAVES.namespaces), serviceAccount('sa', 'other')]);
      expect(findings.map((f) => f.path)).toEqual(['spec.template.spec.serviceAccountName']);
    });

    test('ConfigMap and Secret volumes must exist unless optional', () => {
      const volumes = [
        { name: 'a', configMap: { name: 'missing-cm' } },
        { name: 'b', secret: { secretName: 'missing-secret' } },
        { name: 'c', configMap: { name: 'optional-cm', optional: true } },
        { name: 'd', secret: { secretName: 'optional-secret', optional: true } },
      ];
      expect(lines(app({ pod: { volumes } }))).toEqual([
        expect.stringMatching(/^dangling-reference Deployment\/app\/app spec.template.spec.volumes\[0\].configMap.name: ConfigMap app\/missing-cm not/),
        expect.stringMatching(/^dangling-reference Deployment\/app\/app spec.template.spec.volumes\[1\].secret.secretName: Secret app\/missing-secret/),
      ]);
      expect(check([...app({ pod: { volumes: volumes.slice(0, 2) } }), configMap('missing-cm'), secret('missing-secret')])).toEqual([]);
    });

    test('projected volume sources must exist', () => {
      const sources = [{ configMap: { name: 'pc' } }, { secret: { name: 'ps' } }, { serviceAccountToken: { path: 't' } }];
      const volumes = [{ name: 'p', projected: { sources } }];
      expect(check(app({ pod: { volumes } })).map((f) => f.path)).toEqual([
        'spec.template.spec.volumes[0].projected.sources[0].configMap.name',
        'spec.template.spec.volumes[0].projected.sources[1].secret.name',
      ]);
      expect(check([...app({ pod: { volumes } }), configMap('pc'), secret('ps')])).toEqual([]);
    });

    test('env valueFrom ConfigMap and Secret keys must exist unless optional', () => {
      const env = [
        { name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k' } } },
        { name: 'B', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'C', valueFrom: { secretKeyRef: { name: 'opt', key: 'x', optional: true } } },
        { name: 'D', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ];
      expect(check(app({ containers: [container({ env })] })).map((f) => `${f.path}: ${f.message.split(':')[0]}`)).toEqual([
        'spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.name: ConfigMap app/cm not found',
        'spec.template.spec.containers[0].env[1].valueFrom.secretKeyRef.name: Secret app/creds not found',
      ]);
      expect(check([...app({ containers: [container({ env })] }), configMap('cm', 'app', { k: 'v' }), secret('creds')])).toEqual([]);
    });

    test('the key of a ConfigMap of the output must exist', () => {
      const env = [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cm', key: 'nope' } } }];
      expect(check([...app({ containers: [container({ env })] }), configMap('cm', 'app', { k: 'v' })])).toEqual([{
        rule: 'dangling-reference', object: 'Deployment/app/app', path: 'spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key',
        message: 'ConfigMap app/cm has no key "nope"',
      }]);
    });

    test('envFrom sources must exist unless optional', () => {
      const envFrom = [{ configMapRef: { name: 'env-cm' } }, { secretRef: { name: 'env-secret' } }, { secretRef: { name: 'o', optional: true } }];
      expect(check(app({ initContainers: [container({ name: 'init', envFrom })] })).map((f) => f.path)).toEqual([
        'spec.template.spec.initContainers[0].envFrom[0].configMapRef.name',
        'spec.template.spec.initContainers[0].envFrom[1].secretRef.name',
      ]);
    });

    test('imagePullSecrets must exist', () => {
      const findings = check(app({ pod: { imagePullSecrets: [{ name: 'regcred' }] } }));
      expect(findings).toHaveLength(1);
      expect(findings[0]).toMatchObject({ rule: 'dangling-reference', path: 'spec.template.spec.imagePullSecrets[0].name' });
      expect(findings[0].message).toContain('Secret app/regcred not found');
    });

    test('PersistentVolumeClaims must exist; a StatefulSet volumeClaimTemplate counts', () => {
      const pvc: K8sObject = {
        apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'app' },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      };
      const volumes = [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }];
      expect(check(app({ pod: { volumes } })).map((f) => f.path)).toEqual(['spec.template.spec.volumes[0].persistentVolumeClaim.claimName']);
      expect(check([...app({ pod: { volumes } }), pvc])).toEqual([]);
      const sts = statefulSet('db', {
        claimTemplates: ['data'],
        pod: { volumes },
        containers: [container({ volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      });
      expect(check([sts, service('db')])).toEqual([]);
    });

    test('volumeMounts must name a volume of the pod (or a volumeClaimTemplate)', () => {
      const findings = check([statefulSet('db', { claimTemplates: ['data'], containers: [container({ volumeMounts: [
        { name: 'data', mountPath: '/data' }, { name: 'cache', mountPath: '/cache' },
      ] })] }), service('db')]);
      expect(findings).toEqual([{
        rule: 'dangling-reference', object: 'StatefulSet/app/db', path: 'spec.template.spec.containers[0].volumeMounts[1].name',
        message: 'no volume named "cache" in the pod or volumeClaimTemplates',
      }]);
    });

    test("a StatefulSet's serviceName must exist", () => {
      expect(check([statefulSet('db', { serviceName: 'db-headless' }), service('db')]).map((f) => f.path)).toEqual(['spec.serviceName']);
      expect(check([statefulSet('db', { serviceName: 'db' }), service('db')])).toEqual([]);
    });

    test('CronJob pod templates are checked', () => {
      expect(check([cronJob('backup', { pod: { serviceAccountName: 'backup' } })]).map((f) => f.path))
        .toEqual(['spec.jobTemplate.spec.template.spec.serviceAccountName']);
    });

    test('declared external objects resolve references', () => {
      const external = { apiVersion: 'v1', kind: 'Secret', name: 'regcred', namespace: 'app', reason: 'created by the admins' };
      expect(check(app({ pod: { imagePullSecrets: [{ name: 'regcred' }] } }), { externalObjects: [external] })).toEqual([]);
    });
  });

  describe('Services', () => {
    test('a selector must select a pod template of the same namespace', () => {
      expect(check([deployment('web'), service('web', { app: 'web' })])).toEqual([]);
      expect(check([deployment('web', { labels: { app: 'web', tier: 'front' } }), service('web', { app: 'web' })])).toEqual([]);
      expect(check([deployment('web'), service('web', { app: 'wbe' })])).toEqual([{
        rule: 'dangling-reference', object: 'Service/app/web', path: 'spec.selector', message: 'selector app=wbe selects no pod template in namespace app',
      }]);
    });

    test('pods of another namespace do not count', () => {
      const findings = check([at(namespace('other'), WAVES.namespaces), deployment('web', { namespace: 'other' }), service('web')]);
      expect(findings.map((f) => `${f.object} ${f.path}`)).toEqual(['Service/app/web spec.selector']);
    });

    test('a Service without selector is fine', () => {
      expect(check([service('external', null)])).toEqual([]);
    });
  });

  describe('RBAC', () => {
    test('a RoleBinding refers to a Role of its namespace', () => {
      expect(check([role('reader'), roleBinding('rb', { kind: 'Role', name: 'reader' }, [])])).toEqual([]);
      const findings = check([at(namespace('other'), WAVES.namespaces), role('reader', 'other'), roleBinding('rb', { kind: 'Role', name: 'reader' }, [])]);
      expect(findings).toEqual([expect.objectContaining({ rule: 'dangling-reference', object: 'RoleBinding/app/rb', path: 'roleRef.name' })]);
      expect(findings[0].message).toContain('Role app/reader not found');
    });

    test('a binding to a ClusterRole needs it in the output, unless it is built in', () => {
      expect(check([roleBinding('rb', { kind: 'ClusterRole', name: 'view' }, [])])).toEqual([]);
      expect(check([clusterRole('custom'), roleBinding('rb', { kind: 'ClusterRole', name: 'custom' }, [])])).toEqual([]);
      const findings = check([roleBinding('rb', { kind: 'ClusterRole', name: 'custom' }, [])]);
      expect(findings.map((f) => `${f.path}: ${f.message.split(':')[0]}`)).toEqual(['roleRef.name: ClusterRole custom not found']);
      expect(check([clusterRoleBinding('crb', 'missing', [])]).map((f) => `${f.object} ${f.path}`)).toEqual(['ClusterRoleBinding/crb roleRef.name']);
    });

    test('ServiceAccount subjects must exist', () => {
      const findings = check([
        serviceAccount('present'),
        roleBinding('rb', { kind: 'ClusterRole', name: 'view' }, ['present', 'absent', 'app/default']),
        clusterRoleBinding('crb', 'view', ['app/present', 'app/gone']),
      ]);
      expect(findings.map((f) => `${f.object} ${f.path}: ${f.message.split(':')[0]}`)).toEqual([
        'RoleBinding/app/rb subjects[1].name: ServiceAccount app/absent not found',
        'ClusterRoleBinding/crb subjects[1].name: ServiceAccount app/gone not found',
      ]);
    });
  });

  describe('namespaces', () => {
    test('namespaced objects need their Namespace; default, kube-system and kube-public exist', () => {
      const findings = checkReferences(input([at(configMap('a', 'missing-ns')), at(configMap('b', 'default')), at(configMap('c', 'kube-system')),
        at(configMap('d', 'kube-public'))]));
      expect(findings).toEqual([{
        rule: 'dangling-reference', object: 'ConfigMap/missing-ns/a', path: 'metadata.namespace',
        message: expect.stringContaining('Namespace missing-ns not found') as string,
      }]);
    });

    test('an external Namespace counts', () => {
      const externalObjects = [{ apiVersion: 'v1', kind: 'Namespace', name: 'istio-system', reason: 'installed by the Istio operator' }];
      expect(checkReferences(input([at(configMap('a', 'istio-system'))], { externalObjects }))).toEqual([]);
    });
  });

  describe('webhooks', () => {
    test("a webhook configuration's service must exist", () => {
      expect(check([validatingWebhook('vw', 'app/webhook')]).map((f) => `${f.path}: ${f.message.split(':')[0]}`))
        .toEqual(['webhooks[0].clientConfig.service.name: Service app/webhook not found']);
      expect(check([validatingWebhook('vw', 'app/app'), ...app({})])).toEqual([]);
    });

    test('the Certificate of cert-manager.io/inject-ca-from must exist', () => {
      const webhook = validatingWebhook('vw', 'app/app', { 'cert-manager.io/inject-ca-from': 'app/serving-cert' });
      expect(check([webhook, ...app({})]).map((f) => `${f.path}: ${f.message.split(':')[0]}`))
        .toEqual(['metadata.annotations["cert-manager.io/inject-ca-from"]: Certificate app/serving-cert not found']);
      expect(check([webhook, ...app({}), certificate('serving-cert', 'serving-tls')])).toEqual([]);
    });
  });

  test('NetworkPolicies need no match', () => {
    const policy: K8sObject = {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'app' },
      spec: { podSelector: { matchLabels: { app: 'nothing' } }, policyTypes: ['Ingress'] },
    };
    expect(check([policy])).toEqual([]);
  });
});

describe('provider-order', () => {
  const webhookDeployment = () => deployment('webhook', {
    pod: { volumes: [{ name: 'cert', secret: { secretName: 'webhook-tls' } }] },
    containers: [container({ volumeMounts: [{ name: 'cert', mountPath: '/tmp/certs', readOnly: true }] })],
  });

  test('a Certificate providing a Secret applied after the Deployment mounting it is a finding', () => {
    const findings = check([
      at(certificate('webhook-cert', 'webhook-tls'), WAVES.resources), at(webhookDeployment(), WAVES.controllers), service('webhook'),
    ]);
    expect(findings).toEqual([{
      rule: 'provider-order',
      object: 'Deployment/app/webhook',
      path: 'spec.template.spec.volumes[0].secret.secretName',
      message: 'Secret app/webhook-tls is provided by Certificate/app/webhook-cert in wave 4 (resources), from test/Certificate-webhook-cert, '
        + 'not before this object in wave 3 (controllers), from test/Deployment-webhook',
    }]);
  });

  test('the same wave is not early enough', () => {
    const findings = check([at(certificate('webhook-cert', 'webhook-tls'), WAVES.controllers), at(webhookDeployment()), service('webhook')]);
    expect(findings.map((f) => f.rule)).toEqual(['provider-order']);
  });

  test('fixed: the Certificate in an earlier wave provides the Secret', () => {
    expect(check([at(certificate('webhook-cert', 'webhook-tls'), WAVES.cluster), at(webhookDeployment()), service('webhook')])).toEqual([]);
  });

  test('any provider in an earlier wave is enough', () => {
    const late = certificate('late', 'webhook-tls');
    const early = certificate('early', 'webhook-tls');
    expect(check([at(late, WAVES.resources), at(early, WAVES.cluster), at(webhookDeployment()), service('webhook')])).toEqual([]);
  });

  test('cluster-scoped provided objects use Kind/name', () => {
    const job: K8sObject = {
      ...configMap('maker'), metadata: { name: 'maker', namespace: 'app', annotations: { 'kfkit.dev/provides': 'Namespace/tenant-a' } },
    };
    expect(check([at(job, WAVES.cluster), configMap('x', 'tenant-a')])).toEqual([]);
    expect(check([at(job, WAVES.resources), configMap('x', 'tenant-a')]).map((f) => `${f.rule} ${f.object}`))
      .toEqual(['provider-order ConfigMap/tenant-a/x']);
  });
});

describe('provides-annotation', () => {
  test('a malformed provides entry is a finding', () => {
    const bad: K8sObject = {
      ...configMap('maker'), metadata: { name: 'maker', namespace: 'app', annotations: { 'kfkit.dev/provides': 'Secret/app/x, nonsense' } },
    };
    expect(check([bad])).toEqual([{
      rule: 'provides-annotation', object: 'ConfigMap/app/maker', path: 'metadata.annotations["kfkit.dev/provides"]',
      message: '"nonsense" is not Kind/namespace/name or Kind/name',
    }]);
  });
});
