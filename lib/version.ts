import { version } from '../package.json';

/** The kfkit release this code is (package.json `version`), as `kfkit --version` prints it. */
export const KFKIT_VERSION: string = version;
