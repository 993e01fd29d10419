import { StackDefinition } from '../lib/config/load';
import { aws } from './aws';
import { local } from './local';
import { onprem } from './onprem';

/** Every deployment target overlays may name in `stack:`. */
export const STACKS: readonly StackDefinition[] = [local, onprem, aws];
