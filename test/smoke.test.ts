import * as fs from 'fs';
import { parse } from 'yaml';
import { IMAGES } from '../lib/core/images';
import {
  checkPipelineSpec, HELLO_PIPELINE_FILE, HELLO_PIPELINE_IMAGE, helloPipelineYaml, KfpClient, runSmoke, smokeCommand, smokePipelineName,
  SmokeError, SmokeOptions,
} from '../lib/smoke';
import { FakeKfp, FakeKfpOptions, startFakeKfp } from './fixtures/fake-kfp';

const fakes: FakeKfp[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function fake(options: FakeKfpOptions = {}): Promise<FakeKfp> {
  const f = await startFakeKfp(options);
  fakes.push(f);
  return f;
}

function smoke(baseUrl: string, extra: Partial<SmokeOptions> = {}) {
  const lines: string[] = [];
  const result = runSmoke({ baseUrl, timeoutSeconds: 2, pollIntervalMs: 5, log: (l) => lines.push(l), ...extra });
  return { result, lines };
}

/** The parts of a PipelineSpec the structure tests walk. */
interface Spec {
  readonly root: { readonly dag: { readonly tasks: Readonly<Record<string, { componentRef: { name: string }; inputs: { parameters: object } }>> } };
  readonly components: Readonly<Record<string, { executorLabel: string; inputDefinitions: { parameters: object } }>>;
  readonly deploymentSpec: { readonly executors: Readonly<Record<string, { container?: { image: string } }>> };
}

describe('hello pipeline (KFP v2 IR)', () => {
  const spec = parse(fs.readFileSync(HELLO_PIPELINE_FILE, 'utf8'));
  const typed = spec as Spec;

  test('is a sound PipelineSpec', () => {
    expect(checkPipelineSpec(spec)).toEqual([]);
    expect(spec.schemaVersion).toBe('2.1.0');
    expect(spec.sdkVersion).toMatch(/^kfkit-/);
    expect(spec.pipelineInfo.name).toBe('kfkit-smoke-hello');
  });

  test('every task names an existing component with exactly its inputs; every executor exists and is used', () => {
    const tasks = Object.entries(typed.root.dag.tasks);
    expect(tasks.map(([n]) => n).sort()).toEqual(['print-greeting', 'say-hello']);
    for (const [, task] of tasks) {
      expect(Object.keys(typed.components)).toContain(task.componentRef.name);
      const component = typed.components[task.componentRef.name];
      expect(Object.keys(task.inputs.parameters).sort()).toEqual(Object.keys(component.inputDefinitions.parameters).sort());
      expect(Object.keys(typed.deploymentSpec.executors)).toContain(component.executorLabel);
      expect(typed.deploymentSpec.executors[component.executorLabel].container).toBeDefined();
    }
    const labels = Object.values(typed.components).map((c) => c.executorLabel).sort();
    expect(Object.keys(typed.deploymentSpec.executors).sort()).toEqual(labels);
  });

  test('say-hello takes name and produces Output, which print-greeting consumes', () => {
    const sayHello = spec.components['comp-say-hello'];
    expect(sayHello.inputDefinitions.parameters.name.parameterType).toBe('STRING');
    expect(sayHello.outputDefinitions.parameters.Output.parameterType).toBe('STRING');
    const print = spec.root.dag.tasks['print-greeting'];
    expect(print.dependentTasks).toEqual(['say-hello']);
    expect(print.inputs.parameters.greeting.taskOutputParameter).toEqual({ producerTask: 'say-hello', outputParameterKey: 'Output' });
    expect(spec.root.dag.tasks['say-hello'].inputs.parameters.name).toEqual({ componentInputParameter: 'name' });
    const args = spec.deploymentSpec.executors['exec-say-hello'].container.args;
    expect(args).toEqual(["{{$.inputs.parameters['name']}}", "{{$.outputs.parameters['Output'].output_file}}"]);
  });

  test('runs the catalog alpine image, which the image override replaces everywhere', () => {
    expect(HELLO_PIPELINE_IMAGE).toBe(`${IMAGES.alpine.repository}:${IMAGES.alpine.tag}`);
    for (const e of Object.values(typed.deploymentSpec.executors)) expect(e.container?.image).toBe(HELLO_PIPELINE_IMAGE);
    const mirrored = parse(helloPipelineYaml('registry.corp.example/library/alpine:3.23.5'));
    for (const e of Object.values((mirrored as Spec).deploymentSpec.executors)) expect(e.container?.image).toBe('registry.corp.example/library/alpine:3.23.5');
    expect(checkPipelineSpec(mirrored)).toEqual([]);
  });

  test('the check catches broken specs', () => {
    const broken = structuredClone(spec);
    broken.root.dag.tasks['say-hello'].componentRef.name = 'comp-missing';
    broken.root.dag.tasks['print-greeting'].inputs.parameters.greeting.taskOutputParameter.outputParameterKey = 'Nope';
    broken.components['comp-print-greeting'].executorLabel = 'exec-missing';
    broken.deploymentSpec.executors['exec-say-hello'].container.args[0] = "{{$.inputs.parameters['who']}}";
    broken.root.dag.tasks['say-hello'].cachingOption = {};
    broken.schemaVersion = '2.0.0';
    const problems = checkPipelineSpec(broken).join('\n');
    expect(problems).toMatch(/componentRef: component "comp-missing" is not in components/);
    expect(problems).toMatch(/outputParameterKey: "Nope" is not an output of say-hello/);
    expect(problems).toMatch(/executor "exec-missing" is not in deploymentSpec.executors/);
    expect(problems).toMatch(/deploymentSpec.executors.exec-print-greeting: no component uses it/);
    expect(problems).toMatch(/unknown field "cachingOption"/);
    expect(problems).toMatch(/schemaVersion: "2.0.0"/);
    const noInput = structuredClone(spec);
    delete noInput.root.dag.tasks['say-hello'].inputs.parameters.name;
    expect(checkPipelineSpec(noInput).join('\n')).toMatch(/required input "name" of comp-say-hello is not given/);
    const badArg = structuredClone(spec);
    badArg.deploymentSpec.executors['exec-say-hello'].container.args[0] = "{{$.inputs.parameters['who']}}";
    expect(checkPipelineSpec(badArg).join('\n')).toMatch(/placeholder .*'who'.* names no input parameter/);
  });
});

describe('KfpClient', () => {
  test('sends the bearer token and reports status and a 300-character body excerpt', async () => {
    const f = await fake({ uploadError: { status: 400, body: `{"error_message":"Failed to read a pipeline spec file","error_details":"${'x'.repeat(400)}"}` } });
    const client = new KfpClient({ baseUrl: `${f.url}/`, token: 'tok-123', requestTimeoutMs: 1000 });
    await client.healthz();
    expect(f.requests[0].headers.authorization).toBe('Bearer tok-123');
    const err = await client.uploadPipeline({ name: 'p', fileName: 'p.yaml', content: 'x: 1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, request: 'POST /apis/v2beta1/pipelines/upload' });
    expect((err as { bodyExcerpt: string }).bodyExcerpt).toHaveLength(300);
    expect((err as Error).message).toMatch(/^POST \/apis\/v2beta1\/pipelines\/upload: HTTP 400 Bad Request: \{"error_message":"Failed to read a pipeline spec file"/);
  });

  test('times out a request that gets no answer', async () => {
    const f = await fake({ healthHang: true });
    const err = await new KfpClient({ baseUrl: f.url, requestTimeoutMs: 50 }).healthz().catch((e: unknown) => e);
    expect((err as Error).message).toBe('GET /apis/v2beta1/healthz: no answer: timed out after 50 ms');
  });
});

describe('runSmoke against a fake KFP API', () => {
  test('happy path: health after two 503s, upload, run with the uploaded ids, RUNNING → SUCCEEDED, pipeline deleted', async () => {
    const f = await fake({ healthFailures: 2, runStates: ['PENDING', 'RUNNING', 'RUNNING', 'SUCCEEDED'] });
    const { result, lines } = smoke(f.url, { token: 't0k' });
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.ok).toBe(true);
    expect(r.steps.map((s) => [s.name, s.ok])).toEqual([['health', true], ['upload', true], ['run', true], ['wait', true], ['cleanup', true]]);
    expect(r.steps[0].detail).toMatch(/after 3 attempt\(s\) \(multi_user=false, pipeline_store=database\)/);
    expect(r.pipelineName).toMatch(/^kfkit-smoke-\d{8}-\d{6}-\d{3}$/);

    // Upload: multipart, file part `uploadfile` holding the pipeline YAML, name in the query.
    const upload = f.requests.find((q) => q.path === '/apis/v2beta1/pipelines/upload')!;
    expect(upload.method).toBe('POST');
    expect(upload.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload.query.get('name')).toBe(r.pipelineName);
    expect(upload.headers.authorization).toBe('Bearer t0k');
    const file = f.uploads[0].find((p) => p.name === 'uploadfile')!;
    expect(file.filename).toBe('hello-pipeline.yaml');
    expect(file.content).toBe(fs.readFileSync(HELLO_PIPELINE_FILE, 'utf8'));

    // Run: the uploaded pipeline and version, the name parameter.
    const [run] = [...f.runs.values()];
    expect(r.runId).toBe(run.run_id);
    const [pid, vid] = ['pipeline-1', 'version-2']; // what the fake created
    expect(r.steps[1].detail).toBe(`pipeline "${r.pipelineName}" id ${pid}, version ${vid}`);
    expect(run.pipeline_version_reference).toEqual({ pipeline_id: pid, pipeline_version_id: vid });
    expect(run.runtime_config).toEqual({ parameters: { name: 'kfkit smoke' } });
    expect(JSON.parse(f.requests.find((q) => q.path === '/apis/v2beta1/runs')!.body)).toMatchObject({ display_name: `${r.pipelineName}-run` });

    // Cleanup: version then pipeline deleted; the run is kept.
    expect(f.pipelines.size).toBe(0);
    expect(f.versions.size).toBe(0);
    expect(f.runs.size).toBe(1);
    const deletes = f.requests.filter((q) => q.method === 'DELETE').map((q) => q.path);
    expect(deletes).toEqual([`/apis/v2beta1/pipelines/${pid}/versions/${vid}`, `/apis/v2beta1/pipelines/${pid}`]);

    expect(lines).toContain(`wait: run ${run.run_id} is RUNNING (0 s)`);
    expect(lines.filter((l) => l.startsWith('health: not yet'))).toEqual(['health: not yet: GET /apis/v2beta1/healthz: HTTP 503 Service Unavailable: upstream connect error or disconnect/reset before headers']);
    expect(lines[lines.length - 1]).toMatch(/^ok in /);
  });

  test('a FAILED run fails step wait with the run error message, and cleanup still runs', async () => {
    const f = await fake({ runStates: ['RUNNING', 'FAILED'], runErrorMessage: 'pod say-hello: ImagePullBackOff' });
    const { result, lines } = smoke(f.url);
    const r = await result;
    expect(r.ok).toBe(false);
    expect(r.error).toBeInstanceOf(SmokeError);
    expect(r.error?.step).toBe('wait');
    expect(r.error?.reason).toBe(`run ${r.runId} ended FAILED: pod say-hello: ImagePullBackOff`);
    expect(r.steps.map((s) => [s.name, s.ok])).toEqual([['health', true], ['upload', true], ['run', true], ['wait', false], ['cleanup', true]]);
    expect(f.pipelines.size).toBe(0);
    expect(f.versions.size).toBe(0);
    expect(lines).toContain(`FAILED at step 'wait': run ${r.runId} ended FAILED: pod say-hello: ImagePullBackOff`);
  });

  test('health that never comes up fails step health within the timeout, with the last reason', async () => {
    const f = await fake({ healthStatus: 503 });
    const t0 = Date.now();
    const r = await smoke(f.url, { timeoutSeconds: 0.2 }).result;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(r.ok).toBe(false);
    expect(r.steps.map((s) => s.name)).toEqual(['health']);
    expect(r.error?.step).toBe('health');
    expect(r.error?.reason).toBe(`KFP API at ${f.url} not healthy within the 0.2 s timeout; last: GET /apis/v2beta1/healthz: HTTP 503 Service Unavailable: {"code":14,"message":"unavailable"}`);
    expect(f.requests.filter((q) => q.path !== '/apis/v2beta1/healthz')).toEqual([]);
  });

  test('a hanging API fails step health with a timeout', async () => {
    const f = await fake({ healthHang: true });
    const r = await smoke(f.url, { timeoutSeconds: 0.2 }).result;
    expect(r.error?.step).toBe('health');
    expect(r.error?.reason).toMatch(/last: GET \/apis\/v2beta1\/healthz: no answer: timed out after \d+ ms$/);
  });

  test('an upload answered 400 fails step upload with the status and the body excerpt; nothing to clean up', async () => {
    const f = await fake({ uploadError: { status: 400, body: '{"error_message":"Failed to read a pipeline spec file","error_details":"invalid v2 pipeline spec"}' } });
    const r = await smoke(f.url).result;
    expect(r.error?.step).toBe('upload');
    expect(r.error?.reason).toBe(
      'POST /apis/v2beta1/pipelines/upload: HTTP 400 Bad Request: {"error_message":"Failed to read a pipeline spec file","error_details":"invalid v2 pipeline spec"}',
    );
    expect(r.steps.map((s) => s.name)).toEqual(['health', 'upload']);
    expect(f.requests.some((q) => q.method === 'DELETE' || q.path === '/apis/v2beta1/runs')).toBe(false);
  });

  test('a refused connection (server closed) fails step health', async () => {
    const f = await startFakeKfp();
    await f.close();
    const r = await smoke(f.url, { timeoutSeconds: 0.2 }).result;
    expect(r.ok).toBe(false);
    expect(r.error?.step).toBe('health');
    expect(r.error?.reason).toMatch(/last: GET \/apis\/v2beta1\/healthz: no answer: connection refused \(ECONNREFUSED\)$/);
  });

  test('a run that never finishes fails step wait at the timeout, keeps the run and deletes the pipeline', async () => {
    const f = await fake({ runStates: ['RUNNING'] });
    const r = await smoke(f.url, { timeoutSeconds: 0.2 }).result;
    expect(r.error?.step).toBe('wait');
    expect(r.error?.reason).toBe(`run ${r.runId} still RUNNING after the 0.2 s timeout; left in place for inspection`);
    expect(f.pipelines.size).toBe(0);
    expect(f.runs.size).toBe(1);
  });

  test('a failing cleanup is reported but does not fail a passing check', async () => {
    const f = await fake({ deleteStatus: 500 });
    const { result, lines } = smoke(f.url);
    const r = await result;
    expect(r.ok).toBe(true);
    expect(r.steps[4]).toMatchObject({ name: 'cleanup', ok: false });
    expect(r.steps[4].detail).toMatch(/^DELETE \/apis\/v2beta1\/pipelines\/\S+\/versions\/\S+: HTTP 500/);
    expect(lines.some((l) => l.startsWith('cleanup: FAILED'))).toBe(true);
  });

  test('pipeline names are unique per millisecond and sortable', () => {
    expect(smokePipelineName(new Date('2026-11-23T03:04:05.067Z'))).toBe('kfkit-smoke-20261123-030405-067');
  });
});

describe('smokeCommand', () => {
  function io() {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
  }

  test.each([
    [{ url: 'localhost:8888' }, /^kfkit smoke: --url: "localhost:8888" must be http:\/\/ or https:\/\/$/],
    [{ url: 'not a url' }, /^kfkit smoke: --url: "not a url" is not a URL/],
    [{ url: 'http://user:pw@localhost:8888' }, /^kfkit smoke: --url: credentials in the URL are not supported; use --token$/],
    [{ timeout: 'soon' }, /^kfkit smoke: --timeout: "soon" must be a whole number of seconds \(1\.\.86400\)$/],
    [{ timeout: '0' }, /--timeout: "0" must be a whole number/],
    [{ timeout: '1.5' }, /--timeout: "1\.5" must be a whole number/],
    [{ token: 'two words' }, /^kfkit smoke: --token: must be non-empty printable ASCII without spaces$/],
  ])('bad input %j → exit 2 and one line', async (args, message) => {
    const c = io();
    expect(await smokeCommand(args, c.io)).toBe(2);
    expect(c.err).toHaveLength(1);
    expect(c.err[0]).toMatch(message);
    expect(c.err[0]).not.toMatch(/\n|at .*\.ts:\d+/);
    expect(c.out).toEqual([]);
  });

  test('exit 0 with a one-line verdict when the run succeeds', async () => {
    const f = await fake();
    const c = io();
    expect(await smokeCommand({ url: `${f.url}/`, timeout: '5' }, c.io, { pollIntervalMs: 5 })).toBe(0);
    expect(c.out).toEqual([expect.stringMatching(/^kfkit smoke: ok: Kubeflow Pipelines ran kfkit-smoke-\S+ \(run run-\d+\) to SUCCEEDED$/)]);
    expect(c.err.every((l) => l.startsWith('kfkit smoke: '))).toBe(true);
  });

  test('exit 1 naming the failing step when the check fails', async () => {
    const f = await fake({ runStates: ['FAILED'], runErrorMessage: 'boom' });
    const c = io();
    expect(await smokeCommand({ url: f.url, timeout: '5' }, c.io, { pollIntervalMs: 5 })).toBe(1);
    expect(c.err).toContain(`kfkit smoke: FAILED at step 'wait': run ${[...f.runs.keys()][0]} ended FAILED: boom`);
    expect(c.out).toEqual([]);
  });
});
