import { ComponentIdentity } from '../../core/labels';

/** Labels of the controller's objects (`app.kubernetes.io/name: kserve`, as upstream's). */
export const KSERVE_IDENTITY: ComponentIdentity = { name: 'kserve', component: 'kserve-controller-manager', version: 'v0.16.0' };
/** The controller's Deployment and ServiceAccount (upstream's). */
export const CONTROLLER = 'kserve-controller-manager';
/** The webhook Service (upstream's), port 443 → the manager's 9443. */
export const WEBHOOK_SERVICE = 'kserve-webhook-server-service';
/** The webhook serving certificate's Secret, which the manager reads (`SECRET_NAME`). */
export const WEBHOOK_SECRET = 'kserve-webhook-server-cert';
/** The Certificate (upstream's), whose CA cert-manager injects into the webhook configurations. */
export const WEBHOOK_CERTIFICATE = 'serving-cert';
/** The manager's webhook port. */
export const WEBHOOK_PORT = 9443;
/** The ConfigMap the controller reads its settings from (upstream's name and keys). */
export const INFERENCESERVICE_CONFIG = 'inferenceservice-config';
/** How KServe runs a predictor. */
export type DeploymentMode = 'RawDeployment' | 'Serverless';
/** Annotation choosing an InferenceService's deployment mode (upstream's). */
export const DEPLOYMENT_MODE_ANNOTATION = 'serving.kserve.io/deploymentMode';
/** Label KServe puts on predictor pods (the pod mutator's object selector). */
export const ISVC_POD_LABEL = 'serving.kserve.io/inferenceservice';
/** Port a predictor's container serves HTTP on (every runtime kfkit installs). */
export const PREDICTOR_PORT = 8080;
