import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  NODE_FS, OUTPUT_LOCK, OutputLockedError, prepareToRead, recoverOutput, TreeFs, withOutputLock, writeTreeAtomically,
} from '../lib/synth/output';
import { cli, listFiles, ROOT, tmpdir } from './helpers';

const OLD = new Map([['a.yaml', 'old a\n'], ['w/b.yaml', 'old b\n'], ['w/same.yaml', 'same\n']]);
const NEW = new Map([['a.yaml', 'new a\n'], ['w/same.yaml', 'same\n'], ['x/c.yaml', 'new c\n']]);

/** The tree in `dir` as a map of relative path to content. */
function read(dir: string): Map<string, string> {
  return new Map(listFiles(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

/**
 * File operations that fail at call number `at`. `crash`: every later call fails too, as if the process had been
 * killed there (its clean-up never runs); otherwise only that call fails (an I/O error).
 */
function failingAt(at: number, crash: boolean): { ops: TreeFs; calls: () => string[] } {
  const calls: string[] = [];
  const wrap = <A extends unknown[], R>(name: string, f: (...a: A) => R) => (...a: A): R => {
    calls.push(name);
    if (calls.length === at || (crash && calls.length > at)) throw new Error(`injected fault at ${name} (call ${calls.length})`);
    return f(...a);
  };
  return {
    ops: {
      mkdir: wrap('mkdir', NODE_FS.mkdir), writeFile: wrap('writeFile', NODE_FS.writeFile), link: wrap('link', NODE_FS.link),
      rename: wrap('rename', NODE_FS.rename), remove: wrap('remove', NODE_FS.remove),
    },
    calls: () => calls,
  };
}

/** The operations of one full write over OLD, in order. */
function operations(): string[] {
  const root = tmpdir();
  writeTreeAtomically(path.join(root, 'local'), OLD);
  const counting = failingAt(Number.MAX_SAFE_INTEGER, false);
  writeTreeAtomically(path.join(root, 'local'), NEW, counting.ops);
  return counting.calls();
}

describe('writing a tree survives a fault at every step', () => {
  const ops = operations();

  test('the write has the steps the faults are injected into, the swap last', () => {
    expect(ops.slice(-3)).toEqual(['rename', 'rename', 'remove']);
    expect(ops.length).toBeGreaterThan(6);
  });

  test.each(ops.map((op, i) => [i + 1, op]))('killed at step %i (%s): the next command finds the old tree or the new one, whole', (at) => {
    const root = tmpdir();
    const out = path.join(root, 'local');
    writeTreeAtomically(out, OLD);
    const { ops: faulty } = failingAt(at, true);
    // Killed while removing the replaced tree, the write has done its work: it does not fail.
    if (at === ops.length) writeTreeAtomically(out, NEW, faulty);
    else expect(() => { writeTreeAtomically(out, NEW, faulty); }).toThrow(/injected fault/);
    recoverOutput(root);
    const tree = read(out);
    // Killed before the new tree is in place: the old one; after: the new one.
    const swapped = at > ops.length - 1;
    expect(tree).toEqual(swapped ? NEW : OLD);
    expect(fs.readdirSync(root)).toEqual(['local']);
    fs.mkdirSync(path.join(root, '..', `${path.basename(root)}-plain`));
    expect(fs.statSync(out).mode & 0o777).toBe(fs.statSync(path.join(root, '..', `${path.basename(root)}-plain`)).mode & 0o777);
  });

  test('killed between the renames, no tree is in place until the next command puts the old one back', () => {
    const root = tmpdir();
    const out = path.join(root, 'local');
    writeTreeAtomically(out, OLD);
    const between = ops.length - 1; // the second rename: new tree into place
    expect(() => { writeTreeAtomically(out, NEW, failingAt(between, true).ops); }).toThrow(/injected fault at rename/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(root).sort()).toEqual(['.kfkit-old-local', expect.stringMatching(/^\.kfkit-tmp-local-[0-9a-f]{12}$/)]);
    expect(recoverOutput(root)).toEqual([
      'restored local/ (a write was interrupted while replacing it)',
      expect.stringMatching(/^removed \.kfkit-tmp-local-[0-9a-f]+ \(an interrupted write\)$/),
    ]);
    expect(read(out)).toEqual(OLD);
  });

  test.each(ops.map((op, i) => [i + 1, op]))('an I/O error at step %i (%s) leaves the old tree in place and nothing else', (at) => {
    const root = tmpdir();
    const out = path.join(root, 'local');
    writeTreeAtomically(out, OLD);
    const last = at === ops.length; // removing the replaced tree: the new one is already in place
    if (last) writeTreeAtomically(out, NEW, failingAt(at, false).ops);
    else expect(() => { writeTreeAtomically(out, NEW, failingAt(at, false).ops); }).toThrow(/injected fault/);
    // The last step's error leaves the replaced tree behind, removed by the next command.
    recoverOutput(root);
    expect(read(out)).toEqual(last ? NEW : OLD);
    expect(fs.readdirSync(root)).toEqual(['local']);
  });
});

describe('the output root lock', () => {
  test('one holder at a time: a running holder is waited for, then refused with what to do', () => {
    const root = tmpdir();
    const waits: string[] = [];
    const inner = () => withOutputLock(root, () => 'inner', { waitMs: 300, onWait: (m) => waits.push(m) });
    expect(() => withOutputLock(root, inner)).toThrow(OutputLockedError);
    expect(() => withOutputLock(root, inner)).toThrow(new RegExp(`locked by kfkit \\(pid ${process.pid} on .*: wait for it to finish, or remove .*${OUTPUT_LOCK} if no kfkit is running`));
    expect(waits[0]).toMatch(new RegExp(`waiting for kfkit \\(pid ${process.pid}\\)`));
    // Released after the body, even when the body throws.
    expect(() => withOutputLock(root, () => { throw new Error('boom'); })).toThrow('boom');
    expect(fs.existsSync(path.join(root, OUTPUT_LOCK))).toBe(false);
    expect(withOutputLock(root, () => 'free')).toBe('free');
  });

  test('a lock left by a process that no longer runs is taken over', () => {
    const root = tmpdir();
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.writeFileSync(path.join(root, OUTPUT_LOCK), JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), since: '2026-01-01T00:00:00Z' }));
    expect(withOutputLock(root, () => 'mine', { waitMs: 0 })).toBe('mine');
    expect(fs.existsSync(path.join(root, OUTPUT_LOCK))).toBe(false);
  });

  test('a lock held from another host is never taken over', () => {
    const root = tmpdir();
    fs.writeFileSync(path.join(root, OUTPUT_LOCK), JSON.stringify({ pid: 1, host: `not-${os.hostname()}`, since: '2026-01-01T00:00:00Z' }));
    expect(() => withOutputLock(root, () => 'mine', { waitMs: 100 })).toThrow(/locked by kfkit \(pid 1 on not-/);
  });

  test('reading needs no lock (nor write access) when there is nothing to repair', () => {
    const root = tmpdir();
    writeTreeAtomically(path.join(root, 'local'), OLD);
    fs.writeFileSync(path.join(root, OUTPUT_LOCK), JSON.stringify({ pid: 1, host: `not-${os.hostname()}`, since: '2026-01-01T00:00:00Z' }));
    expect(prepareToRead(root, { waitMs: 0 })).toEqual([]);
  });

  test('the CLI: a locked output root is exit 1 with the message, and nothing is written', () => {
    const dir = tmpdir();
    fs.mkdirSync(path.join(dir, 'dist'));
    fs.writeFileSync(path.join(dir, 'dist', OUTPUT_LOCK), JSON.stringify({ pid: 1, host: `not-${os.hostname()}`, since: '2026-01-01T00:00:00Z' }));
    process.env.KFKIT_LOCK_WAIT_SECONDS = '0';
    try {
      const r = cli(['synth', '--env', 'local', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/kfkit: .*dist is locked by kfkit \(pid 1 on not-.*remove .*\.kfkit\.lock if no kfkit is running/);
      expect(fs.readdirSync(path.join(dir, 'dist'))).toEqual([OUTPUT_LOCK]);
      process.env.KFKIT_LOCK_WAIT_SECONDS = 'soon';
      const bad = cli(['synth', '--env', 'local', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir);
      expect(bad.code).toBe(2);
      expect(bad.err).toBe('kfkit: KFKIT_LOCK_WAIT_SECONDS: "soon" must be a whole number of seconds >= 0');
    } finally {
      delete process.env.KFKIT_LOCK_WAIT_SECONDS;
    }
  });
});

describe('an output root that cannot be written', () => {
  test('a path through a file: exit 2, what could not be done, no stack trace, nothing written', () => {
    const dir = tmpdir();
    fs.writeFileSync(path.join(dir, 'afile'), 'x');
    const r = cli(['synth', '--env', 'local', '--overlays', path.join(ROOT, 'overlays'), '--out', 'afile/dist'], dir);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/kfkit: cannot write afile\/dist: a path in it is a file, not a folder \(E(NOTDIR|EXIST)\); nothing was replaced/);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(fs.readFileSync(path.join(dir, 'afile'), 'utf8')).toBe('x');
    const schema = cli(['schema', '-o', 'afile/schema.json'], dir);
    expect(schema.code).toBe(2);
    expect(schema.err).toMatch(/kfkit: cannot write afile\/schema.json: a path in it is a file, not a folder/);
  });
});

describe('a real kfkit synth killed while writing', () => {
  test('SIGKILL mid-write: the next command repairs the root, every tree is the old or the new one, whole', async () => {
    const dir = tmpdir();
    const dist = path.join(dir, 'dist');
    const envs = ['local', 'local-auth', 'full', 'onprem', 'aws-dev', 'aws-prod'];
    for (const env of envs) writeTreeAtomically(path.join(dist, env), new Map([['old.yaml', `${env}\n`]]));
    const reference = path.join(dir, 'reference');
    expect(cli(['synth', '--all', '--out', reference]).code).toBe(0);

    const bundle = path.join(ROOT, 'build', 'kfkit.cjs');
    const args = JSON.stringify(['synth', '--all', '--out', dist]);
    const child = spawn(process.execPath, ['-e', `Promise.resolve(require(${JSON.stringify(bundle)}).run(${args})).then((c) => { process.exitCode = c; })`],
      { cwd: ROOT, stdio: 'ignore' });
    // Killed as soon as it starts writing a tree.
    const watcher = fs.watch(dist, (_event, name) => { if (name?.startsWith('.kfkit-tmp-')) child.kill('SIGKILL'); });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => { resolve(s); }));
    watcher.close();
    expect(signal).toBe('SIGKILL');
    expect(fs.readdirSync(dist)).toContain(OUTPUT_LOCK); // left by the killed process

    // The next command (validate, which reads) repairs first: its lock is taken over from the dead process.
    const validate = cli(['validate', path.join('dist', 'local')], dir);
    expect(validate.err).toMatch(/kfkit: dist: (restored|removed) /);
    for (const env of envs) {
      const tree = read(path.join(dist, env));
      const whole = [...tree.keys()].join() === 'old.yaml' ? tree.get('old.yaml') === `${env}\n` : JSON.stringify([...tree]) === JSON.stringify([...read(path.join(reference, env))]);
      expect({ env, whole }).toEqual({ env, whole: true });
    }
    expect(fs.readdirSync(dist).filter((f) => f.startsWith('.')).sort()).toEqual([]);
    expect(cli(['synth', '--all', '--overlays', path.join(ROOT, 'overlays'), '--out', 'dist'], dir).code).toBe(0);
    for (const env of envs) expect(read(path.join(dist, env))).toEqual(read(path.join(reference, env)));
  }, 60_000);
});
