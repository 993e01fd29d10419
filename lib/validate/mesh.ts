/**
 * Rules `gateway-authz` (every web app behind an Istio gateway has an AuthorizationPolicy) and `gateway-hosts` (routes of
 * one gateway do not shadow each other).
 */
import { Finding, HarnessInput, K8sObject, PlacedObject } from './types';
import { apiGroup, asArray, asRecord, asString, finding, getIn, PathSegment, podTemplateOf } from './util';

/** Rule id of {@link checkGatewayAuthorization}. */
export const GATEWAY_AUTHZ_RULE = 'gateway-authz';
/** Rule id of {@link checkGatewayHosts}. */
export const GATEWAY_HOSTS_RULE = 'gateway-hosts';

const NETWORKING_GROUP = 'networking.istio.io';
const SECURITY_GROUP = 'security.istio.io';

/** Namespace labels that put a namespace's pods in the mesh (sidecar injection, a revision, the ambient dataplane). */
function inMesh(ns: K8sObject): boolean {
  const labels = ns.metadata.labels ?? {};
  return labels['istio-injection'] === 'enabled' || 'istio.io/rev' in labels || labels['istio.io/dataplane-mode'] === 'ambient';
}

function selects(selector: Readonly<Record<string, unknown>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

/** An ALLOW AuthorizationPolicy (action absent or `ALLOW`) as the check sees it. */
interface AllowPolicy {
  readonly placed: PlacedObject;
  readonly namespace: string;
  /** `matchLabels` of its selector; undefined when it has none (every pod of the namespace) or uses targetRefs. */
  readonly matchLabels?: Readonly<Record<string, unknown>>;
  /** Services it is attached to through `targetRef`/`targetRefs`. */
  readonly services: readonly string[];
  /** Whether a rule is empty (`{}`), which allows every caller. */
  readonly allowsAll: boolean;
}

function allowPolicy(placed: PlacedObject): AllowPolicy | undefined {
  const { manifest } = placed;
  if (apiGroup(manifest.apiVersion) !== SECURITY_GROUP || manifest.kind !== 'AuthorizationPolicy') return undefined;
  const spec = asRecord(manifest.spec) ?? {};
  const action = asString(spec.action) ?? 'ALLOW';
  if (action !== 'ALLOW') return undefined;
  const refs = [...asArray(spec.targetRefs), ...(spec.targetRef === undefined ? [] : [spec.targetRef])].map(asRecord);
  const services = refs.filter((r) => asString(r?.kind) === 'Service').map((r) => asString(r?.name) ?? '');
  const matchLabels = asRecord(getIn(spec, ['selector', 'matchLabels']));
  const allowsAll = asArray(spec.rules).some((rule) => Object.keys(asRecord(rule) ?? {}).length === 0);
  return { placed, namespace: manifest.metadata.namespace ?? 'default', matchLabels: refs.length > 0 ? undefined : matchLabels ?? {}, services, allowsAll };
}

/** Whether `policy` applies to pods labelled `labels` behind Service `service`. */
function applies(policy: AllowPolicy, service: string, labels: Readonly<Record<string, string>>): boolean {
  if (policy.services.length > 0) return policy.services.includes(service);
  return policy.matchLabels === undefined ? false : selects(policy.matchLabels, labels);
}

/** `<name>` and `<namespace>` of a destination host (`svc`, `svc.ns`, `svc.ns.svc`, `svc.ns.svc.<cluster domain>`), if it names a Service. */
function serviceOf(host: string, defaultNamespace: string): { name: string; namespace: string } | undefined {
  if (host.includes('*')) return undefined;
  const parts = host.toLowerCase().split('.');
  if (parts.length >= 3 && parts[2] !== 'svc') return undefined;
  return { name: parts[0], namespace: parts[1] ?? defaultNamespace };
}

/** Route destinations of a VirtualService: `spec.{http,tcp,tls}[i].route[j].destination.host` with their paths. */
function destinations(vs: K8sObject): { path: PathSegment[]; host: string }[] {
  const out: { path: PathSegment[]; host: string }[] = [];
  const spec = asRecord(vs.spec) ?? {};
  for (const kind of ['http', 'tcp', 'tls']) {
    asArray(spec[kind]).forEach((route, i) => {
      asArray(asRecord(route)?.route).forEach((dest, j) => {
        const host = asString(getIn(dest, ['destination', 'host']));
        if (host) out.push({ path: ['spec', kind, i, 'route', j, 'destination', 'host'], host });
      });
    });
  }
  return out;
}

/**
 * Rule `gateway-authz`: every web app behind a gateway has an AuthorizationPolicy, so only the gateway (where users
 * authenticate) and the callers the app names reach it — without one, any workload of the mesh can call it directly.
 *
 * For every VirtualService bound to a gateway (an entry of `spec.gateways` other than `mesh`), each route destination
 * that is a Service of the output: the pods behind the Service (the pod templates of its namespace its selector
 * selects; the selector itself when no template does) must be selected by an ALLOW AuthorizationPolicy
 * (`security.istio.io`) of that namespace — by `selector.matchLabels`, by no selector (namespace-wide) or by a
 * `targetRef(s)` naming the Service — and no ALLOW policy that selects them may have an empty rule (`{}`, which allows
 * every caller). Skipped: destinations in a namespace of the output that is not in the mesh (no `istio-injection:
 * enabled`, `istio.io/rev` or `istio.io/dataplane-mode: ambient` label: no proxy there enforces a policy; network
 * policies guard them), and destinations that are no Service of the output (ServiceEntries, external hosts).
 */
export function checkGatewayAuthorization(input: HarnessInput): Finding[] {
  const out: Finding[] = [];
  const namespaces = new Map<string, K8sObject>();
  const services = new Map<string, K8sObject>();
  const templates: { namespace: string; labels: Readonly<Record<string, string>> }[] = [];
  const policies: AllowPolicy[] = [];
  const routes: PlacedObject[] = [];
  for (const placed of input.objects) {
    const m = placed.manifest;
    const group = apiGroup(m.apiVersion);
    if (group === '' && m.kind === 'Namespace') namespaces.set(m.metadata.name, m);
    if (group === '' && m.kind === 'Service') services.set(`${m.metadata.namespace ?? 'default'}/${m.metadata.name}`, m);
    const template = podTemplateOf(m);
    if (template) templates.push({ namespace: m.metadata.namespace ?? 'default', labels: template.labels });
    const policy = allowPolicy(placed);
    if (policy) policies.push(policy);
    if (group === NETWORKING_GROUP && m.kind === 'VirtualService') routes.push(placed);
  }
  for (const vs of routes) {
    const spec = asRecord(vs.manifest.spec) ?? {};
    const gateways = asArray(spec.gateways).map(asString).filter((g): g is string => g !== undefined && g !== 'mesh');
    if (gateways.length === 0) continue;
    const vsNamespace = vs.manifest.metadata.namespace ?? 'default';
    for (const { path, host } of destinations(vs.manifest)) {
      const ref = serviceOf(host, vsNamespace);
      const service = ref ? services.get(`${ref.namespace}/${ref.name}`) : undefined;
      if (!ref || !service) continue;
      const ns = namespaces.get(ref.namespace);
      if (ns && !inMesh(ns)) continue;
      const selector = asRecord(getIn(service, ['spec', 'selector'])) ?? {};
      const selected = templates.filter((t) => t.namespace === ref.namespace && Object.keys(selector).length > 0 && selects(selector, t.labels));
      const podLabels = selected.length > 0 ? selected.map((t) => t.labels) : [Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, String(v)]))];
      const what = `Service ${ref.namespace}/${ref.name}, behind gateway ${gateways.join(', ')},`;
      for (const labels of podLabels) {
        const matching = policies.filter((p) => p.namespace === ref.namespace && applies(p, ref.name, labels));
        if (matching.length === 0) {
          out.push(finding(GATEWAY_AUTHZ_RULE, vs, path,
            `${what} has no ALLOW AuthorizationPolicy selecting its pods in ${ref.namespace}: any workload of the mesh can call it; `
            + 'allow the ingress gateway\'s principal (exposeWebApp writes the policy)'));
          break;
        }
        const open = matching.find((p) => p.allowsAll);
        if (open) {
          out.push(finding(GATEWAY_AUTHZ_RULE, vs, path,
            `${what} is open to every caller: AuthorizationPolicy ${ref.namespace}/${open.placed.manifest.metadata.name} has an empty rule ({}); `
            + 'name the callers (the ingress gateway\'s principal)'));
          break;
        }
      }
    }
  }
  return out;
}

/** `<namespace>/<name>` of a VirtualService's `spec.gateways` entry (a bare name is in the VirtualService's namespace). */
function gatewayKey(ref: string, vsNamespace: string): string {
  return ref.includes('/') ? ref : `${vsNamespace}/${ref}`;
}

/**
 * Rule `gateway-hosts`: on one gateway, a VirtualService for a named host does not shadow the routes of VirtualServices
 * for `*`. Istio builds one virtual host per host name and Envoy picks the most specific one, so once a VirtualService
 * names `kubeflow.example.com`, requests for that host see only the routes of VirtualServices naming it — the `*` routes
 * (upstream's, and kfkit's `exposeWebApp`) answer 404 there. With the gateway's HTTP→HTTPS redirect, a named host also
 * puts the redirect on cert-manager's ACME HTTP-01 route. Reported on each VirtualService naming a host while another
 * VirtualService of the same gateway uses `*`.
 */
export function checkGatewayHosts(input: HarnessInput): Finding[] {
  const byGateway = new Map<string, { placed: PlacedObject; hosts: string[] }[]>();
  for (const placed of input.objects) {
    const m = placed.manifest;
    if (apiGroup(m.apiVersion) !== NETWORKING_GROUP || m.kind !== 'VirtualService') continue;
    const spec = asRecord(m.spec) ?? {};
    const hosts = asArray(spec.hosts).map(asString).filter((h): h is string => h !== undefined);
    const vsNamespace = m.metadata.namespace ?? 'default';
    for (const ref of asArray(spec.gateways).map(asString)) {
      if (ref === undefined || ref === 'mesh') continue;
      const key = gatewayKey(ref, vsNamespace);
      byGateway.set(key, [...(byGateway.get(key) ?? []), { placed, hosts }]);
    }
  }
  const out: Finding[] = [];
  for (const [gateway, routes] of byGateway) {
    const wildcard = routes.filter((r) => r.hosts.includes('*')).map((r) => objectName(r.placed.manifest));
    if (wildcard.length === 0) continue;
    for (const { placed, hosts } of routes) {
      hosts.forEach((host, i) => {
        if (host === '*') return;
        out.push(finding(GATEWAY_HOSTS_RULE, placed, ['spec', 'hosts', i],
          `host ${host} shadows the routes of ${wildcard.join(', ')} (hosts *) on gateway ${gateway}: requests for ${host} never reach them; `
          + 'use hosts ["*"] like the other routes of the gateway'));
      });
    }
  }
  return out;
}

function objectName(m: K8sObject): string {
  return `VirtualService ${m.metadata.namespace ?? 'default'}/${m.metadata.name}`;
}
