import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The output root (`dist/`): one writer at a time, and a tree that is always whole.
 *
 * A tree `dist/<env>` is replaced in three steps: the new tree is written to `.kfkit-tmp-<env>-<random>`, the old one
 * is renamed to `.kfkit-old-<env>`, the new one renamed to `<env>`, and the old one removed. A process killed between
 * the renames leaves no `<env>` but a whole `.kfkit-old-<env>`: {@link recoverOutput}, which every command runs
 * before it reads or writes a tree, renames it back. Temporary folders of interrupted writes are removed. All of it
 * happens under an exclusive lock file per output root ({@link OUTPUT_LOCK}), so two syntheses never swap one
 * tree at once.
 */

/** The lock file in an output root: `{ pid, host, since }` of the process that holds it. */
export const OUTPUT_LOCK = '.kfkit.lock';
const TMP_PREFIX = '.kfkit-tmp-';
const OLD_PREFIX = '.kfkit-old-';

/** Another process holds the output root's lock (and still runs) beyond the wait. */
export class OutputLockedError extends Error {}

/** The file operations a tree write performs: the real ones, or a test's that fail at a chosen point. */
export interface TreeFs {
  readonly mkdir: (dir: string) => void;
  readonly writeFile: (file: string, content: string) => void;
  /** Hard-links `target` to `existing`; false where the file system cannot. */
  readonly link: (existing: string, target: string) => boolean;
  readonly rename: (from: string, to: string) => void;
  readonly remove: (dir: string) => void;
}

/** The real file system. */
export const NODE_FS: TreeFs = {
  mkdir: (dir) => { fs.mkdirSync(dir, { recursive: true }); },
  writeFile: (file, content) => { fs.writeFileSync(file, content); },
  link: (existing, target) => {
    try {
      fs.linkSync(existing, target);
      return true;
    } catch {
      return false;
    }
  },
  rename: (from, to) => { fs.renameSync(from, to); },
  remove: (dir) => { fs.rmSync(dir, { recursive: true, force: true }); },
};

interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    return typeof h.pid === 'number' && typeof h.host === 'string' && typeof h.since === 'string' ? { pid: h.pid, host: h.host, since: h.since } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder still runs: only a process on this host can be asked; one elsewhere is assumed to. */
function running(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Options of {@link withOutputLock}. */
export interface OutputLockOptions {
  /**
   * How long to wait for another running kfkit to release the lock, in milliseconds.
   * @default 60000
   */
  readonly waitMs?: number;
  /** Called once when the lock is held by another process and this one starts waiting. */
  readonly onWait?: (message: string) => void;
}

/**
 * Runs `body` holding the output root's exclusive lock (created if missing, with the root). A lock left by a process
 * that no longer runs (killed) is taken over; one held by a running process is waited for, then refused with
 * {@link OutputLockedError}.
 */
export function withOutputLock<T>(root: string, body: () => T, options: OutputLockOptions = {}): T {
  fs.mkdirSync(root, { recursive: true });
  const file = path.join(root, OUTPUT_LOCK);
  const me: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  let waited = false;
  for (;;) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(me)}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readHolder(file);
    let stale: boolean;
    if (holder) stale = !running(holder);
    else {
      // Unreadable: a holder between creating and writing the file, or a torn write of a killed one; give it a moment.
      const stat = fs.statSync(file, { throwIfNoEntry: false });
      stale = stat !== undefined && Date.now() - stat.mtimeMs > 5_000;
    }
    if (stale) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new OutputLockedError(`${root} is locked by ${holder ? `kfkit (pid ${holder.pid} on ${holder.host}, since ${holder.since})` : 'another kfkit'}: `
        + `wait for it to finish, or remove ${file} if no kfkit is running`);
    }
    if (!waited && holder) options.onWait?.(`waiting for kfkit (pid ${holder.pid}) to release ${file}`);
    waited = true;
    sleep(100);
  }
  try {
    return body();
  } finally {
    const holder = readHolder(file);
    if (holder?.pid === me.pid && holder.since === me.since) fs.rmSync(file, { force: true });
  }
}

/**
 * Repairs what interrupted writes left in an output root; call it holding the lock. A `.kfkit-old-<env>` whose
 * `<env>` is missing (killed between the renames) is renamed back; one whose `<env>` exists (killed before removing
 * it) is removed, and so are temporary folders. Returns what it did, one line per repair.
 */
export function recoverOutput(root: string): string[] {
  const done: string[] = [];
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return done;
  }
  for (const name of entries.sort()) {
    const full = path.join(root, name);
    if (name.startsWith(OLD_PREFIX)) {
      const env = name.slice(OLD_PREFIX.length);
      const target = path.join(root, env);
      if (env !== '' && !fs.existsSync(target)) {
        fs.renameSync(full, target);
        done.push(`restored ${env}/ (a write was interrupted while replacing it)`);
      } else {
        fs.rmSync(full, { recursive: true, force: true });
        done.push(`removed ${name} (the tree it replaced was written)`);
      }
    } else if (name.startsWith(TMP_PREFIX)) {
      fs.rmSync(full, { recursive: true, force: true });
      done.push(`removed ${name} (an interrupted write)`);
    }
  }
  return done;
}

/** Whether an output root holds anything {@link recoverOutput} would repair (a cheap check that writes nothing). */
export function needsRecovery(root: string): boolean {
  try {
    return fs.readdirSync(root).some((n) => n.startsWith(OLD_PREFIX) || n.startsWith(TMP_PREFIX));
  } catch {
    return false;
  }
}

/**
 * Before a command reads a tree under `root`: repairs an interrupted write (under the lock). Writes nothing, and needs
 * no write access, when there is nothing to repair. Returns the repairs made.
 */
export function prepareToRead(root: string, options: OutputLockOptions = {}): string[] {
  if (!needsRecovery(root)) return [];
  return withOutputLock(root, () => recoverOutput(root), options);
}

/** Whether `file` exists as a regular file holding exactly `content`. */
function sameFile(file: string, content: string): boolean {
  try {
    const stat = fs.lstatSync(file);
    return stat.isFile() && stat.size === Buffer.byteLength(content) && fs.readFileSync(file, 'utf8') === content;
  } catch {
    return false;
  }
}

/**
 * Writes `files` (paths relative to the tree) to `outDir` atomically: everything goes to a temporary sibling folder
 * first, which then replaces `outDir` (see the module's description). A failure before the swap leaves the previous
 * tree untouched; a failure during it puts the previous tree back; a process killed anywhere leaves a state
 * {@link recoverOutput} turns into the old or the new tree, whole. Folders are created with the process's umask (0755
 * by default). Hold the output root's lock ({@link withOutputLock}) around it.
 */
export function writeTreeAtomically(outDir: string, files: ReadonlyMap<string, string>, fsOps: TreeFs = NODE_FS): void {
  const target = path.resolve(outDir);
  const parent = path.dirname(target);
  const env = path.basename(target);
  fs.mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `${TMP_PREFIX}${env}-${randomBytes(6).toString('hex')}`);
  const old = path.join(parent, `${OLD_PREFIX}${env}`);
  const previous = fs.existsSync(target) ? target : undefined;
  let moved = false;
  try {
    fsOps.mkdir(tmp);
    const made = new Set<string>([tmp]);
    for (const [rel, content] of files) {
      const file = path.join(tmp, rel);
      const dir = path.dirname(file);
      if (!made.has(dir)) {
        fsOps.mkdir(dir);
        made.add(dir);
      }
      // A file the previous tree already has with this content is linked, not written again: re-synthesizing a
      // large platform after a small change costs what changed. The new tree still replaces the old one whole.
      if (!(previous !== undefined && sameFile(path.join(previous, rel), content) && fsOps.link(path.join(previous, rel), file))) {
        fsOps.writeFile(file, content);
      }
    }
    if (fs.existsSync(old)) fsOps.remove(old);
    if (previous) {
      fsOps.rename(target, old);
      moved = true;
    }
    fsOps.rename(tmp, target);
    moved = false;
  } catch (err) {
    // Put the previous tree back where the swap stopped half-way; then drop the temporary folder. A failing clean-up
    // must not hide the error (recoverOutput finishes it on the next run).
    try {
      if (moved && !fs.existsSync(target)) fsOps.rename(old, target);
      fsOps.remove(tmp);
    } catch {
      // recovered by the next command
    }
    throw err;
  }
  // The new tree is in place: failing to remove the one it replaced is no failure of the write (the next command
  // removes it).
  if (previous) {
    try {
      fsOps.remove(old);
    } catch {
      // recovered by the next command
    }
  }
}
