import * as fs from 'fs';
import * as path from 'path';

let root: string | undefined;

/**
 * The kfkit package's root directory (where `facts/` and `lib/` are), found upwards from this module: the same from the
 * TypeScript sources (`lib/core/`) and from the bundled CLI (`build/`).
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'kfkit') {
      root = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`kfkit's package.json not found above ${__dirname}`);
  }
}
