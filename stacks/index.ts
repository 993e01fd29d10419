import { StackDefinition } from '../lib/config/load';
import { local } from './local';

/** Every deployment target overlays may name in `stack:`. */
export const STACKS: readonly StackDefinition[] = [local];
