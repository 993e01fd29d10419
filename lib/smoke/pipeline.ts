/**
 * The smoke-check pipeline: `hello-pipeline.yaml` (a KFP v2 PipelineSpec written for kfkit), the image it runs, and
 * a structural check of PipelineSpec documents.
 */
import * as fs from 'fs';
import * as path from 'path';
import { isMap, isScalar, parseDocument } from 'yaml';
import { ImageCatalog } from '../core/images';
import { packageRoot } from '../core/package-root';

/** Path of the smoke pipeline's YAML file. */
export const HELLO_PIPELINE_FILE = path.join(packageRoot(), 'lib', 'smoke', 'hello-pipeline.yaml');

/** File name the pipeline is uploaded under (the API server requires a `.yaml`/`.yml`/`.json` suffix). */
export const HELLO_PIPELINE_FILENAME = 'hello-pipeline.yaml';

/**
 * The image every step of the smoke pipeline runs, as written in `hello-pipeline.yaml`: the catalog's `alpine`
 * (`kfkit list-images` lists it, so air-gapped users mirror it). With a registry mirror, pass the mirrored
 * reference (`new ImageCatalog({ registryMirror }).image('alpine')`) to {@link helloPipelineYaml}.
 */
export const HELLO_PIPELINE_IMAGE: string = new ImageCatalog().image('alpine');

/** The catalog key of {@link HELLO_PIPELINE_IMAGE}. */
export const HELLO_PIPELINE_IMAGE_KEY = 'alpine';

/** The pipeline's input parameter and the value the smoke run passes. */
export const HELLO_PIPELINE_PARAMETERS: Readonly<Record<string, string>> = { name: 'kfkit smoke' };

/**
 * The smoke pipeline's YAML text, with every container executor's image replaced by `image` when given (comments and
 * layout kept).
 */
export function helloPipelineYaml(image?: string): string {
  const text = fs.readFileSync(HELLO_PIPELINE_FILE, 'utf8');
  if (image === undefined || image === HELLO_PIPELINE_IMAGE) return text;
  const doc = parseDocument(text);
  const executors = doc.getIn(['deploymentSpec', 'executors']);
  if (!isMap(executors)) throw new Error(`${HELLO_PIPELINE_FILE}: deploymentSpec.executors is not a mapping`);
  for (const item of executors.items) {
    const label = isScalar(item.key) ? String(item.key.value) : '?';
    if (!isMap(item.value) || !item.value.hasIn(['container', 'image'])) throw new Error(`${HELLO_PIPELINE_FILE}: executor ${label} has no container image`);
    item.value.setIn(['container', 'image'], image);
  }
  return doc.toString({ lineWidth: 0 });
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

/** Fields of the PipelineSpec messages the check knows; protojson in the API server rejects any other field. */
const FIELDS: Readonly<Record<string, readonly string[]>> = {
  spec: ['pipelineInfo', 'deploymentSpec', 'sdkVersion', 'schemaVersion', 'components', 'root', 'defaultPipelineRoot'],
  pipelineInfo: ['name', 'displayName', 'description'],
  component: ['inputDefinitions', 'outputDefinitions', 'dag', 'executorLabel', 'singlePlatformSpecs', 'taskConfigPassthroughs'],
  inputParameter: ['parameterType', 'defaultValue', 'isOptional', 'description', 'literals'],
  outputParameter: ['parameterType', 'description'],
  task: [
    'taskInfo', 'inputs', 'dependentTasks', 'cachingOptions', 'componentRef', 'triggerPolicy', 'artifactIterator', 'parameterIterator',
    'retryPolicy', 'iteratorPolicy',
  ],
  taskInput: ['taskOutputParameter', 'runtimeValue', 'componentInputParameter', 'taskFinalStatus', 'parameterExpressionSelector'],
  container: ['image', 'command', 'args', 'lifecycle', 'resources', 'env'],
};

const PARAMETER_TYPES = ['NUMBER_DOUBLE', 'NUMBER_INTEGER', 'STRING', 'BOOLEAN', 'LIST', 'STRUCT', 'TASK_FINAL_STATUS', 'TASK_CONFIG'];
const PLACEHOLDER = /\{\{\$\.(inputs|outputs)\.parameters\['([^']+)'\](\.output_file)?\}\}/g;

/**
 * Checks a parsed KFP v2 PipelineSpec for the mistakes the API server would reject late or a run would fail on:
 * schema version, pipeline name, unknown fields, every task's component and its inputs, every output reference, every
 * executor and every parameter placeholder. Returns one message per problem (empty: sound). Covers the container
 * executors and parameters the smoke pipeline uses, not artifacts, importers or control flow.
 */
export function checkPipelineSpec(spec: unknown): string[] {
  const problems: string[] = [];
  if (!isObj(spec)) return ['the document is not a mapping'];
  const unknownFields = (where: string, value: Obj, kind: string): void => {
    for (const key of Object.keys(value)) if (!FIELDS[kind].includes(key)) problems.push(`${where}: unknown field "${key}"`);
  };
  unknownFields('(top level)', spec, 'spec');
  if (spec.schemaVersion !== '2.1.0') problems.push(`schemaVersion: "${String(spec.schemaVersion)}" (the API server accepts 2.1.0 only)`);
  const info = obj(spec.pipelineInfo);
  unknownFields('pipelineInfo', info, 'pipelineInfo');
  if (typeof info.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(info.name)) {
    problems.push('pipelineInfo.name: required, lower-case alphanumerics, "-" or "."');
  }
  const components = obj(spec.components);
  const executors = obj(obj(spec.deploymentSpec).executors);
  const usedExecutors = new Set<string>();

  const checkComponent = (where: string, component: Obj): void => {
    unknownFields(where, component, 'component');
    for (const [name, p] of Object.entries(obj(obj(component.inputDefinitions).parameters))) {
      unknownFields(`${where}.inputDefinitions.parameters.${name}`, obj(p), 'inputParameter');
      if (!PARAMETER_TYPES.includes(String(obj(p).parameterType))) problems.push(`${where}.inputDefinitions.parameters.${name}: bad parameterType`);
    }
    for (const [name, p] of Object.entries(obj(obj(component.outputDefinitions).parameters))) {
      unknownFields(`${where}.outputDefinitions.parameters.${name}`, obj(p), 'outputParameter');
      if (!PARAMETER_TYPES.includes(String(obj(p).parameterType))) problems.push(`${where}.outputDefinitions.parameters.${name}: bad parameterType`);
    }
    const hasDag = component.dag !== undefined;
    const label = component.executorLabel;
    if (hasDag === (label !== undefined)) problems.push(`${where}: needs exactly one of dag and executorLabel`);
    if (typeof label === 'string') {
      usedExecutors.add(label);
      if (!isObj(executors[label])) problems.push(`${where}.executorLabel: executor "${label}" is not in deploymentSpec.executors`);
      else checkExecutor(`deploymentSpec.executors.${label}`, executors[label], component);
    }
    if (hasDag) checkDag(`${where}.dag`, obj(component.dag), component);
  };

  const checkExecutor = (where: string, executor: Obj, component: Obj): void => {
    const container = executor.container;
    if (!isObj(container)) {
      problems.push(`${where}: only container executors are checked`);
      return;
    }
    unknownFields(`${where}.container`, container, 'container');
    if (typeof container.image !== 'string' || container.image === '') problems.push(`${where}.container.image: required`);
    const list = (v: unknown): readonly unknown[] => (Array.isArray(v) ? (v as unknown[]) : []);
    const words = [...list(container.command), ...list(container.args)];
    if (words.length === 0) problems.push(`${where}.container: no command or args`);
    const inputs = obj(obj(component.inputDefinitions).parameters);
    const outputs = obj(obj(component.outputDefinitions).parameters);
    for (const word of words) {
      if (typeof word !== 'string') {
        problems.push(`${where}.container: command and args must be strings`);
        continue;
      }
      for (const m of word.matchAll(PLACEHOLDER)) {
        const [, direction, name] = m;
        const file = m[0].endsWith('.output_file}}');
        if (direction === 'inputs' && (file || !(name in inputs))) problems.push(`${where}: placeholder ${m[0]} names no input parameter`);
        if (direction === 'outputs' && (!file || !(name in outputs))) problems.push(`${where}: placeholder ${m[0]} names no output parameter file`);
      }
    }
  };

  const checkDag = (where: string, dag: Obj, parent: Obj): void => {
    const tasks = obj(dag.tasks);
    if (Object.keys(tasks).length === 0) problems.push(`${where}.tasks: empty`);
    const parentInputs = obj(obj(parent.inputDefinitions).parameters);
    for (const [taskName, t] of Object.entries(tasks)) {
      const task = obj(t);
      const at = `${where}.tasks.${taskName}`;
      unknownFields(at, task, 'task');
      if (typeof obj(task.taskInfo).name !== 'string') problems.push(`${at}.taskInfo.name: required`);
      const ref = obj(task.componentRef).name;
      const component = typeof ref === 'string' ? components[ref] : undefined;
      if (!isObj(component)) {
        problems.push(`${at}.componentRef: component "${String(ref)}" is not in components`);
        continue;
      }
      const deps = Array.isArray(task.dependentTasks) ? (task.dependentTasks as unknown[]) : [];
      for (const dep of deps) if (typeof dep !== 'string' || !(dep in tasks)) problems.push(`${at}.dependentTasks: "${String(dep)}" is not a task of this dag`);
      const declared = obj(obj(component.inputDefinitions).parameters);
      const given = obj(obj(task.inputs).parameters);
      for (const [name, d] of Object.entries(declared)) {
        const optional = obj(d).isOptional === true || obj(d).defaultValue !== undefined;
        if (!(name in given) && !optional) problems.push(`${at}.inputs.parameters: required input "${name}" of ${String(ref)} is not given`);
      }
      for (const [name, g] of Object.entries(given)) {
        const input = obj(g);
        const where2 = `${at}.inputs.parameters.${name}`;
        unknownFields(where2, input, 'taskInput');
        if (!(name in declared)) problems.push(`${where2}: ${String(ref)} has no input "${name}"`);
        const sources = ['taskOutputParameter', 'runtimeValue', 'componentInputParameter', 'taskFinalStatus'].filter((k) => input[k] !== undefined);
        if (sources.length !== 1) problems.push(`${where2}: needs exactly one source, has ${sources.length}`);
        if (typeof input.componentInputParameter === 'string' && !(input.componentInputParameter in parentInputs)) {
          problems.push(`${where2}.componentInputParameter: the enclosing component has no input "${input.componentInputParameter}"`);
        }
        if (input.taskOutputParameter !== undefined) {
          const out = obj(input.taskOutputParameter);
          const producer = typeof out.producerTask === 'string' ? obj(tasks[out.producerTask]) : undefined;
          const producerRef = producer ? obj(producer.componentRef).name : undefined;
          const producerComponent = typeof producerRef === 'string' ? obj(components[producerRef]) : {};
          if (!producer || Object.keys(producer).length === 0) problems.push(`${where2}.taskOutputParameter.producerTask: "${String(out.producerTask)}" is not a task of this dag`);
          else if (!deps.includes(out.producerTask)) problems.push(`${where2}: producer "${String(out.producerTask)}" is missing from dependentTasks`);
          const key = out.outputParameterKey;
          if (producer && (typeof key !== 'string' || !(key in obj(obj(producerComponent.outputDefinitions).parameters)))) {
            problems.push(`${where2}.taskOutputParameter.outputParameterKey: "${String(key)}" is not an output of ${String(out.producerTask)}`);
          }
        }
      }
    }
  };

  if (!isObj(spec.root)) problems.push('root: required');
  else checkComponent('root', spec.root);
  for (const [name, c] of Object.entries(components)) {
    if (!isObj(c)) problems.push(`components.${name}: not a mapping`);
    else checkComponent(`components.${name}`, c);
  }
  for (const label of Object.keys(executors)) if (!usedExecutors.has(label)) problems.push(`deploymentSpec.executors.${label}: no component uses it`);
  return [...new Set(problems)];
}
