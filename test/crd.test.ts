import { ApiObject, App, Chart } from 'cdk8s';
import { KfkitContext } from '../lib/core/context';
import { CrdVersion, CustomResourceDefinition, CustomResourceDefinitionProps, Infer, JsonSchema, resolveSchemaPath, Schema } from '../lib/core/crd';
import { collect } from '../lib/synth/collect';
import { validate } from '../lib/validate/harness';
import { Finding } from '../lib/validate/types';

/** A small CRD exercising every helper. */
const widgetSpec = Schema.object({
  size: Schema.int({ format: 'int32', minimum: 1, maximum: 10 }),
  color: Schema.enumOf(['red', 'green']),
  enabled: Schema.bool(),
  ratio: Schema.number({ format: 'double' }),
  since: Schema.dateTime({ nullable: true }),
  port: Schema.intOrString(),
  tags: Schema.array(Schema.string(), { listType: 'set' }),
  labels: Schema.map(Schema.string()),
  ports: Schema.listMap(Schema.object({ name: Schema.string(), port: Schema.int() }, { required: ['name'] }), ['name']),
  extra: Schema.preserveUnknown(),
  anything: Schema.anyValue(),
  template: Schema.podTemplateSpec(),
}, { required: ['size'] });

const WIDGET_V1 = {
  name: 'v1',
  storage: true,
  schema: Schema.object({
    spec: widgetSpec,
    status: Schema.object({ replicas: Schema.int(), phase: Schema.string(), selector: Schema.string() }),
  }, { required: ['spec'] }),
  subresources: { status: true, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
  printerColumns: [{ name: 'Phase', type: 'string', jsonPath: '.status.phase' }, { name: 'Port', type: 'string', jsonPath: '.spec.ports[0].name' }],
} satisfies CrdVersion<unknown>;

const WIDGET_V1BETA1 = { name: 'v1beta1', storage: false, schema: Schema.object({ spec: Schema.preserveUnknown() }), deprecationWarning: 'use v1' } satisfies CrdVersion<unknown>;

const PROPS: CustomResourceDefinitionProps = {
  group: 'example.kfkit.dev', kind: 'Widget', plural: 'widgets', shortNames: ['wd'], scope: 'Namespaced', versions: [WIDGET_V1, WIDGET_V1BETA1],
};

function tree(): { chart: Chart } {
  const app = new App();
  const chart = new Chart(app, 't', { disableResourceNameHashes: true });
  KfkitContext.create(chart, { apiServerCidrs: ['192.0.2.0/24'] });
  return { chart };
}

function widget(props: Partial<CustomResourceDefinitionProps> = {}): { chart: Chart; crd: CustomResourceDefinition } {
  const { chart } = tree();
  return { chart, crd: new CustomResourceDefinition(chart, 'Widget', { ...PROPS, ...props }) };
}

/** A custom resource written as-is (no typing), to test what the harness catches. */
function raw(chart: Chart, id: string, body: Record<string, unknown>, apiVersion = 'example.kfkit.dev/v1'): ApiObject {
  return new ApiObject(chart, id, { apiVersion, kind: 'Widget', metadata: { name: id.toLowerCase(), namespace: 'default' }, ...body });
}

/** The parts of an emitted CRD the tests read. */
interface CrdManifest {
  apiVersion: string;
  metadata: { name: string };
  spec: {
    names: unknown;
    scope: string;
    versions: {
      name: string; served: boolean; storage: boolean; deprecated?: boolean; deprecationWarning?: string;
      subresources?: unknown; additionalPrinterColumns?: unknown; schema: { openAPIV3Schema: JsonSchema };
    }[];
  };
}

const crdFindings = (chart: Chart): Finding[] => validate(collect(chart)).filter((f) => f.rule === 'crd' || f.rule === 'openapi');

describe('CustomResourceDefinition', () => {
  test('emits an apiextensions.k8s.io/v1 CRD with names, versions, subresources and columns', () => {
    const { chart, crd } = widget();
    const s = collect(chart);
    expect(validate(s)).toEqual([]);
    const manifest = s.objects.find((o) => o.manifest.kind === 'CustomResourceDefinition')?.manifest as unknown as CrdManifest;
    expect(manifest.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(manifest.metadata.name).toBe('widgets.example.kfkit.dev');
    expect(s.objects.find((o) => o.manifest.kind === 'CustomResourceDefinition')?.waveName).toBe('crds');
    expect(manifest.spec.names).toEqual({ kind: 'Widget', listKind: 'WidgetList', plural: 'widgets', singular: 'widget', shortNames: ['wd'] });
    expect(manifest.spec.scope).toBe('Namespaced');
    const [v1, v1beta1] = manifest.spec.versions;
    expect([v1.name, v1.served, v1.storage]).toEqual(['v1', true, true]);
    expect([v1beta1.name, v1beta1.served, v1beta1.storage, v1beta1.deprecated, v1beta1.deprecationWarning]).toEqual(['v1beta1', true, false, true, 'use v1']);
    expect(v1.subresources).toEqual({ status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } });
    expect(v1beta1.subresources).toBeUndefined();
    expect(v1.additionalPrinterColumns).toEqual([
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' }, { name: 'Port', type: 'string', jsonPath: '.spec.ports[0].name' },
    ]);
    // The emitted schema is exactly the builder's (wire format all the way down, also inside items/additionalProperties).
    expect(v1.schema.openAPIV3Schema).toEqual(crd.schemas.get('v1'));
    const spec = v1.schema.openAPIV3Schema.properties!.spec.properties!;
    expect(spec.ports).toEqual({
      type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'],
      items: { type: 'object', properties: { name: { type: 'string' }, port: { type: 'integer' } }, required: ['name'] },
    });
    expect(spec.labels).toEqual({ type: 'object', additionalProperties: { type: 'string' } });
    expect(spec.port).toEqual({ 'x-kubernetes-int-or-string': true });
    expect(spec.anything).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
    expect(spec.since).toEqual({ type: 'string', format: 'date-time', nullable: true });
    expect(v1.schema.openAPIV3Schema.properties!.metadata).toEqual({ type: 'object' });
    expect(crd.apiVersion).toBe('example.kfkit.dev/v1');
  });

  test('a valid custom resource passes the harness; typed creation', () => {
    const { chart, crd } = widget();
    const body: Infer<typeof WIDGET_V1.schema> = {
      spec: {
        size: 3, color: 'red', enabled: true, ratio: 0.5, since: null, port: 'http', tags: ['a'], labels: { a: 'b' },
        ports: [{ name: 'http', port: 80 }], extra: { free: { form: 1 } }, anything: [1, 'two'],
        template: { spec: { containers: [{}], hostNetwork: false }, metadata: { labels: { a: 'b' } } },
      },
    };
    const cr = crd.customResource(chart, 'Good', WIDGET_V1, { name: 'good', namespace: 'default' }, body);
    expect(cr.apiVersion).toBe('example.kfkit.dev/v1');
    // @ts-expect-error size is an integer: the type follows the schema
    crd.customResource(chart, 'Typo', WIDGET_V1, { name: 'typo', namespace: 'default' }, { spec: { size: 'three' } });
    expect(crdFindings(chart).filter((f) => f.object.endsWith('/good'))).toEqual([]);
    expect(crdFindings(chart).some((f) => f.object.endsWith('/typo') && f.path === 'spec.size')).toBe(true);
  });

  test('wrong types, enum values, ranges, missing required fields and unknown fields fail validation', () => {
    const { chart } = widget();
    raw(chart, 'Wrong', { spec: { size: 'lots', color: 'blue', enabled: 'yes', ratio: 'half', tags: [1], labels: { a: 1 } } });
    raw(chart, 'Range', { spec: { size: 11 } });
    raw(chart, 'Missing', { spec: { color: 'red' } });
    raw(chart, 'Unknown', { spec: { size: 1, colour: 'red' }, extraTop: true });
    raw(chart, 'Preserved', { spec: { size: 1, extra: { a: { b: 1 } }, template: { spec: { containers: [{ name: 'c', image: 1 }] } } } });
    const findings = crdFindings(chart);
    const at = (name: string): string[] => findings.filter((f) => f.object === `Widget/default/${name}`).map((f) => f.path ?? '').sort();
    expect(at('wrong')).toEqual(expect.arrayContaining(['spec.color', 'spec.enabled', 'spec.labels.a', 'spec.ratio', 'spec.size', 'spec.tags[0]']));
    expect(at('range')).toEqual(['spec.size']);
    expect(at('missing')).toEqual(['spec.size']);
    expect(findings.find((f) => f.object === 'Widget/default/missing')?.message).toMatch(/required/);
    expect(at('unknown')).toEqual(['extraTop', 'spec.colour']);
    expect(findings.filter((f) => f.object === 'Widget/default/unknown').every((f) => /unknown field/.test(f.message))).toBe(true);
    // Preserved fields are kept, but a typed field inside (a container image) is still checked.
    expect(at('preserved')).toEqual(['spec.template.spec.containers[0].image']);
  });

  test('a served version other than storage validates with its own schema', () => {
    const { chart } = widget();
    raw(chart, 'Beta', { spec: { anything: { goes: true } } }, 'example.kfkit.dev/v1beta1');
    expect(crdFindings(chart)).toEqual([]);
  });

  test('customResource checks the version and the scope', () => {
    const { chart, crd } = widget();
    const other = { name: 'v1', storage: true, schema: Schema.object({ spec: widgetSpec }) } satisfies CrdVersion<unknown>;
    expect(() => crd.customResource(chart, 'A', other, { name: 'a', namespace: 'x' }, { spec: { size: 1 } })).toThrow(/no version object v1/);
    expect(() => crd.customResource(chart, 'B', WIDGET_V1, { name: 'b' }, { spec: { size: 1 } })).toThrow(/namespaced: set metadata.namespace/);
    const cluster = widget({ scope: 'Cluster' });
    expect(() => cluster.crd.customResource(cluster.chart, 'C', WIDGET_V1, { name: 'c', namespace: 'x' }, { spec: { size: 1 } }))
      .toThrow(/cluster-scoped: remove metadata.namespace/);
    const unserved = { ...WIDGET_V1BETA1, served: false } satisfies CrdVersion<unknown>;
    const u = widget({ versions: [WIDGET_V1, unserved] });
    expect(() => u.crd.customResource(u.chart, 'D', unserved, { name: 'd', namespace: 'x' }, { spec: {} })).toThrow(/not served/);
  });

  test('resolveSchemaPath follows properties, maps, list items and preserved parts', () => {
    const root = { type: 'object', properties: { spec: widgetSpec.json } } as const;
    expect(resolveSchemaPath(root, '.spec.size')).toEqual({ type: 'integer', format: 'int32', minimum: 1, maximum: 10 });
    expect(resolveSchemaPath(root, '.spec.labels.anykey')).toEqual({ type: 'string' });
    expect(resolveSchemaPath(root, '.spec.ports[0].port')).toEqual({ type: 'integer' });
    expect(resolveSchemaPath(root, '.spec.extra.deep.er')).toBe('any');
    expect(resolveSchemaPath(root, '.spec.nothing')).toBeUndefined();
    expect(resolveSchemaPath(root, 'spec.size')).toBeUndefined();
    expect(resolveSchemaPath(root, '.spec.size[0]')).toBeUndefined();
  });
});

describe('CustomResourceDefinition guards', () => {
  const version = (extra: Partial<CrdVersion<unknown>> = {}): CrdVersion<unknown> => ({ ...WIDGET_V1, ...extra });
  test.each<[string, Partial<CustomResourceDefinitionProps>, RegExp]>([
    ['group without a dot', { group: 'widgets' }, /group "widgets" must be a lowercase DNS subdomain with at least one dot/],
    ['kind not PascalCase', { kind: 'widget' }, /kind "widget" must be PascalCase/],
    ['plural with upper case', { plural: 'Widgets' }, /name "Widgets" must be a lowercase DNS label/],
    ['bad short name', { shortNames: ['w_d'] }, /name "w_d" must be a lowercase DNS label/],
    ['duplicate short names', { shortNames: ['wd', 'wd'] }, /short names must be unique/],
    ['no versions', { versions: [] }, /needs at least one version/],
    ['no storage version', { versions: [version({ storage: false })] }, /exactly one version must have storage: true \(found 0\)/],
    ['two storage versions', { versions: [WIDGET_V1, { ...WIDGET_V1BETA1, storage: true }] }, /exactly one version must have storage: true \(found 2\)/],
    ['bad version name', { versions: [version({ name: 'version1' })] }, /version "version1" must look like v1/],
    ['duplicate version names', { versions: [WIDGET_V1, { ...WIDGET_V1BETA1, name: 'v1' }] }, /version names must be unique/],
    ['root not an object', { versions: [version({ schema: Schema.string() })] }, /the schema must be a Schema.object of the top-level fields/],
    ['root declares metadata', { versions: [version({ schema: Schema.object({ metadata: Schema.preserveUnknown() }), subresources: {}, printerColumns: [] })] },
      /must not declare "metadata" \(the CRD adds it\)/],
    ['status subresource without status', { versions: [version({ schema: Schema.object({ spec: widgetSpec }), printerColumns: [], subresources: { status: true } })] },
      /the status subresource needs a "status" property/],
    ['scale path outside spec', { versions: [version({ subresources: { scale: { specReplicasPath: '.status.replicas', statusReplicasPath: '.status.replicas' } } })] },
      /scale specReplicasPath ".status.replicas" must start with .spec./],
    ['scale path to nothing', { versions: [version({ subresources: { scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } } })] },
      /scale specReplicasPath ".spec.replicas" names no field/],
    ['scale path not an integer', { versions: [version({ subresources: { scale: { specReplicasPath: '.spec.color', statusReplicasPath: '.status.replicas' } } })] },
      /scale specReplicasPath ".spec.color" must be an integer field/],
    ['scale selector not a string', {
      versions: [version({ subresources: { scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.replicas' } } })],
    }, /labelSelectorPath ".status.replicas" must be a string field/],
    ['printer column to nothing', { versions: [version({ printerColumns: [{ name: 'X', type: 'string', jsonPath: '.status.nope' }] })] },
      /printer column X jsonPath ".status.nope" names no field/],
    ['duplicate printer columns', { versions: [version({ printerColumns: [{ name: 'X', type: 'string', jsonPath: '.status.phase' }, { name: 'X', type: 'string', jsonPath: '.status.phase' }] })] },
      /printer column names must be unique/],
  ])('rejects %s', (_label, props, message) => {
    expect(() => widget(props)).toThrow(message);
  });

  test.each<[string, () => unknown, RegExp]>([
    ['required property not declared', () => Schema.object({ a: Schema.string() }, { required: ['b' as 'a'] }), /required property "b" is not among the properties/],
    ['invalid property name', () => Schema.object({ 'a b': Schema.string() }), /property name "a b" is not a valid field name/],
    ['empty enum', () => Schema.enumOf([]), /enum needs at least one value/],
    ['duplicate enum values', () => Schema.enumOf(['a', 'a']), /enum values must be unique/],
    ['enum default not a value', () => Schema.enumOf(['a'], { default: 'b' as 'a' }), /default "b" is not one of the enum values/],
    ['integer with a float format', () => Schema.int({ format: 'double' }), /integer format must be int32 or int64/],
    ['number with an int format', () => Schema.number({ format: 'int64' }), /number format must be float or double/],
    ['minimum above maximum', () => Schema.int({ minimum: 5, maximum: 1 }), /minimum 5 is above maximum 1/],
    ['non-integer default', () => Schema.int({ default: 1.5 }), /default 1.5 is not of type integer/],
    ['invalid pattern', () => Schema.string({ pattern: '(' }), /pattern "\(" is not a valid regular expression/],
    ['set of objects', () => Schema.array(Schema.object({ a: Schema.string() }), { listType: 'set' }), /a list of type set must have scalar items/],
    ['list map without keys', () => Schema.listMap(Schema.object({ a: Schema.string() }, { required: ['a'] }), []), /needs at least one key/],
    ['list map key optional', () => Schema.listMap(Schema.object({ a: Schema.string() }), ['a']), /list map key "a" must be required or have a default/],
    ['list map key not scalar', () => Schema.listMap(Schema.object({ a: Schema.preserveUnknown() }, { required: ['a'] }), ['a']), /must be a scalar property/],
  ])('schema helpers reject %s', (_label, build, message) => {
    expect(build).toThrow(message);
  });
});
