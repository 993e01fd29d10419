import { ComponentIdentity } from '../../core/labels';

/** Labels of the operator's objects. */
export const TRAINING_IDENTITY: ComponentIdentity = { name: 'training-operator', component: 'training-operator', version: 'v1.9.2' };
