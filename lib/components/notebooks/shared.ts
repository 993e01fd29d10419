import { ComponentIdentity } from '../../core/labels';

/** Labels of the notebooks' objects. */
export const NOTEBOOKS_IDENTITY: ComponentIdentity = { name: 'notebooks', component: 'notebooks', version: 'v1.10.0' };
/** Port of a notebook server (Jupyter, code-server and RStudio images of kubeflow/kubeflow). */
export const NOTEBOOK_PORT = 8888;
