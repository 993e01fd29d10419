/**
 * Reads a synthesized (or hand-made) `dist/<env>/` tree into harness input.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { ExternalApi, ExternalObject, HarnessInput, K8sObject, PlacedObject } from './types';
import { isRecord } from './util';

/** Bad input for {@link loadDist}: the message names the file (and document) and what is wrong. */
export class HarnessLoadError extends Error {
  public constructor(
    message: string,
    /** The file (or directory) at fault. */
    public readonly file: string,
    /** Index of the YAML document in the file, when the problem is in one document. */
    public readonly documentIndex?: number,
  ) {
    super(message);
    this.name = 'HarnessLoadError';
  }
}

/** One wave of `kfkit.json`. */
export interface DistWave {
  readonly index: number;
  readonly name: string;
  /** Folder of the wave, relative to the env folder. */
  readonly dir: string;
}

/** Contents of `dist/<env>/kfkit.json`, written by `kfkit synth`. */
export interface DistMetadata {
  readonly env: string;
  readonly stack: string;
  readonly waves: readonly DistWave[];
  readonly externalApis: readonly ExternalApi[];
  readonly externalObjects: readonly ExternalObject[];
}

/** What {@link loadDist} returns: harness input, plus the env and stack when `kfkit.json` names them. */
export interface LoadedDist extends HarnessInput {
  readonly env?: string;
  readonly stack?: string;
}

/** Name of the metadata file of a synthesized env folder. */
export const DIST_METADATA_FILE = 'kfkit.json';

const distMetadataSchema = z.object({
  env: z.string(),
  stack: z.string(),
  waves: z.array(z.object({ index: z.number().int().nonnegative(), name: z.string().min(1), dir: z.string().min(1) })),
  externalApis: z.array(z.object({
    group: z.string().min(1), kind: z.string().min(1), versions: z.array(z.string().min(1)), providedBy: z.string(), installedBy: z.string().optional(),
  })).default([]),
  externalObjects: z.array(z.object({
    apiVersion: z.string().min(1), kind: z.string().min(1), name: z.string().min(1), namespace: z.string().min(1).optional(), reason: z.string(),
    keys: z.array(z.string().min(1)).optional(),
  })).default([]),
});

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const SUPPORTED_KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'metadata', 'resources']);
const WAVE_FOLDER = /^(\d+)-(.+)$/;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err: unknown) {
    throw new HarnessLoadError(`${file}: cannot read: ${describe(err)}`, file);
  }
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isYamlFile(name: string): boolean {
  return /\.ya?ml$/.test(name) && !KUSTOMIZATION_FILES.includes(name);
}

/** Every YAML file under `dir` (sorted, recursive), except kustomizations and the `flux/` folder at the top. */
function yamlFilesUnder(dir: string, top: boolean): string[] {
  const out: string[] = [];
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!(top && entry.name === 'flux')) out.push(...yamlFilesUnder(full, false));
    } else if (entry.isFile() && isYamlFile(entry.name)) {
      out.push(full);
    }
  }
  return out;
}

function kustomizationIn(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((name) => path.join(dir, name)).find((file) => fs.existsSync(file));
}

/** The files a folder contributes: those its kustomization lists (recursively), else every YAML file under it. */
function filesOfFolder(dir: string, seen: Set<string> = new Set()): string[] {
  const kustomizationFile = kustomizationIn(dir);
  if (!kustomizationFile) return yamlFilesUnder(dir, false);
  if (seen.has(kustomizationFile)) {
    throw new HarnessLoadError(`${kustomizationFile}: kustomizations include each other in a cycle`, kustomizationFile);
  }
  seen.add(kustomizationFile);
  const docs = parseYaml(kustomizationFile).filter((d) => d.value !== null && d.value !== undefined);
  const kustomization = docs.length === 1 ? docs[0].value : undefined;
  if (!isRecord(kustomization)) {
    throw new HarnessLoadError(`${kustomizationFile}: not a kustomization (expected one YAML mapping)`, kustomizationFile);
  }
  const unsupported = Object.keys(kustomization).filter((key) => !SUPPORTED_KUSTOMIZATION_FIELDS.has(key));
  if (unsupported.length > 0) {
    throw new HarnessLoadError(`${kustomizationFile}: kustomization fields ${unsupported.join(', ')} are not supported `
      + '(the harness reads the listed resources as they are; render the tree with `kustomize build` first)', kustomizationFile);
  }
  const resources = kustomization.resources ?? [];
  if (!Array.isArray(resources)) throw new HarnessLoadError(`${kustomizationFile}: resources must be a list`, kustomizationFile);
  const out: string[] = [];
  resources.forEach((resource: unknown, index) => {
    if (typeof resource !== 'string' || resource === '') {
      throw new HarnessLoadError(`${kustomizationFile}: resources[${index}] must be a non-empty string`, kustomizationFile);
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(resource) || resource.startsWith('github.com/')) {
      const message = `${kustomizationFile}: resources[${index}] "${resource}" is remote; only local files are supported`;
      throw new HarnessLoadError(message, kustomizationFile);
    }
    const target = path.resolve(dir, resource);
    if (isDirectory(target)) out.push(...filesOfFolder(target, seen));
    else if (fs.existsSync(target)) out.push(target);
    else throw new HarnessLoadError(`${kustomizationFile}: resources[${index}] "${resource}" does not exist`, kustomizationFile);
  });
  return out;
}

interface ParsedDocument {
  readonly index: number;
  readonly value: unknown;
}

function parseYaml(file: string): ParsedDocument[] {
  const text = readText(file);
  let documents: ReturnType<typeof parseAllDocuments>;
  try {
    documents = parseAllDocuments(text);
  } catch (err: unknown) {
    throw new HarnessLoadError(`${file}: invalid YAML: ${describe(err)}`, file);
  }
  if (!Array.isArray(documents)) return [];
  return documents.map((doc, index) => {
    if (doc.errors.length > 0) {
      throw new HarnessLoadError(`${file} (document ${index}): invalid YAML: ${doc.errors[0].message.split('\n')[0]}`, file, index);
    }
    try {
      return { index, value: doc.toJS({ maxAliasCount: 1000 }) as unknown };
    } catch (err: unknown) {
      throw new HarnessLoadError(`${file} (document ${index}): invalid YAML: ${describe(err)}`, file, index);
    }
  });
}

/** Checks that a document is a Kubernetes object (apiVersion, kind, metadata.name), else throws naming the document. */
function asK8sObject(value: unknown, file: string, index: number, where = ''): K8sObject {
  const fail = (what: string): never => {
    throw new HarnessLoadError(`${file} (document ${index}${where}): ${what}`, file, index);
  };
  if (!isRecord(value)) return fail(`expected a Kubernetes object (a mapping), got ${Array.isArray(value) ? 'a list' : typeof value}`);
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return fail('missing apiVersion (a non-empty string)');
  if (typeof value.kind !== 'string' || value.kind === '') return fail('missing kind (a non-empty string)');
  const metadata = value.metadata;
  if (!isRecord(metadata)) return fail(`${value.kind} has no metadata`);
  if (typeof metadata.name !== 'string' || metadata.name === '') return fail(`${value.kind} has no metadata.name (a non-empty string)`);
  if (metadata.namespace !== undefined && typeof metadata.namespace !== 'string') {
    return fail(`${value.kind} ${metadata.name}: metadata.namespace must be a string`);
  }
  return value as K8sObject;
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function loadFiles(root: string, files: readonly string[], wave: number, waveName: string): PlacedObject[] {
  const out: PlacedObject[] = [];
  for (const file of files) {
    const documents = parseYaml(file).filter((d) => d.value !== null && d.value !== undefined);
    const rel = relative(root, file);
    for (const { index, value } of documents) {
      const source = documents.length > 1 ? `${rel}#${index}` : rel;
      if (isRecord(value) && value.kind === 'List' && value.apiVersion === 'v1' && Array.isArray(value.items)) {
        value.items.forEach((item: unknown, i) => {
          out.push({ manifest: asK8sObject(item, file, index, `, items[${i}]`), wave, waveName, source: `${source}.items[${i}]` });
        });
      } else {
        out.push({ manifest: asK8sObject(value, file, index), wave, waveName, source });
      }
    }
  }
  return out;
}

/**
 * Reads loose manifest files (no kfkit tree around them) as wave 0. Sources are paths relative to `root`.
 * @throws HarnessLoadError as {@link loadDist}
 */
export function loadManifestFiles(root: string, files: readonly string[]): PlacedObject[] {
  return loadFiles(path.resolve(root), files.map((f) => path.resolve(root, f)), 0, 'all');
}

function readMetadata(file: string): DistMetadata {
  let json: unknown;
  try {
    json = JSON.parse(readText(file));
  } catch (err: unknown) {
    if (err instanceof HarnessLoadError) throw err;
    throw new HarnessLoadError(`${file}: invalid JSON: ${describe(err)}`, file);
  }
  const parsed = distMetadataSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    throw new HarnessLoadError(`${file}: ${at}: ${issue.message}`, file);
  }
  return parsed.data;
}

/**
 * Reads a `dist/<env>/` tree into harness input.
 *
 * With `kfkit.json`: its waves (each folder's `kustomization.yaml` lists the files, recursively; without one every
 * YAML file under the folder), external APIs and external objects. Without it (an org's hand-made tree): folders
 * named `NN-name` are the waves, in numeric order (wave index = position, wave name = `name`); without such folders
 * every YAML file under `dir` is wave 0 (`all`); with them, files outside the wave folders are ignored.
 * Kustomization files and the `flux/` folder are never objects.
 * Empty YAML documents are skipped; a `v1` `List` contributes its items.
 *
 * @throws HarnessLoadError on unreadable files, invalid YAML or JSON, a document that is not an object with
 *   `apiVersion`, `kind` and `metadata.name`, a kustomization using fields other than `resources`, or a missing file.
 */
export function loadDist(dir: string): LoadedDist {
  const root = path.resolve(dir);
  if (!isDirectory(root)) throw new HarnessLoadError(`${dir}: not a directory`, dir);
  const metadataFile = path.join(root, DIST_METADATA_FILE);
  if (fs.existsSync(metadataFile)) {
    const metadata = readMetadata(metadataFile);
    const objects: PlacedObject[] = [];
    for (const wave of [...metadata.waves].sort((a, b) => a.index - b.index)) {
      const waveDir = path.resolve(root, wave.dir);
      if (waveDir !== root && !waveDir.startsWith(root + path.sep)) {
        throw new HarnessLoadError(`${metadataFile}: wave ${wave.name} dir "${wave.dir}" is outside ${dir}`, metadataFile);
      }
      if (!isDirectory(waveDir)) throw new HarnessLoadError(`${metadataFile}: wave ${wave.name} dir "${wave.dir}" does not exist`, metadataFile);
      objects.push(...loadFiles(root, filesOfFolder(waveDir), wave.index, wave.name));
    }
    return {
      env: metadata.env, stack: metadata.stack, objects, externalApis: metadata.externalApis, externalObjects: metadata.externalObjects,
    };
  }
  const waveFolders = fs.readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && WAVE_FOLDER.test(e.name))
    .map((e) => {
      const match = WAVE_FOLDER.exec(e.name) as RegExpExecArray;
      return { folder: e.name, order: Number(match[1]), name: match[2] };
    })
    .sort((a, b) => a.order - b.order || (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0));
  if (waveFolders.length === 0) return { objects: loadFiles(root, yamlFilesUnder(root, true), 0, 'all') };
  const objects = waveFolders.flatMap((w, index) => loadFiles(root, filesOfFolder(path.join(root, w.folder)), index, w.name));
  return { objects };
}
