import { ComponentIdentity } from '../../core/labels';

/** Labels of Katib's objects. */
export const KATIB_IDENTITY: ComponentIdentity = { name: 'katib', component: 'katib', version: 'v0.19.0' };
/** The DB manager's gRPC port (Service and container), which trials' metrics collectors and the UI call. */
export const DB_MANAGER_PORT = 6789;
/** Port suggestion services listen on, which the controller calls. */
export const SUGGESTION_PORT = 6789;
