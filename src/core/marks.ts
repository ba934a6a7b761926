// The labels and annotations dev mode writes. They are the whole of dev mode's state
// on the cluster: `end` (from any machine, after any crash) needs nothing else.

const PREFIX = 'dev.kubectl-dev.io';

/** Label on a workload in dev mode; `status` finds workloads with it. Value: "true". */
export const DEV_MODE_LABEL = `${PREFIX}/dev-mode`;
/** Label on the dev pod template (and generated objects' selectors): which workload it belongs to. */
export const WORKLOAD_LABEL = `${PREFIX}/workload`;
/** Label on generated objects (Deployment for a DaemonSet, Job for a Job or CronJob). */
export const GENERATED_LABEL = `${PREFIX}/generated`;

/** Annotation: the original labels, annotations and spec, as JSON, restored by `exit`. */
export const ORIGINAL_ANNOTATION = `${PREFIX}/original`;
/** Annotation: the settings dev mode was entered with, as JSON (to tell "same settings" from "other settings"). */
export const SETTINGS_ANNOTATION = `${PREFIX}/settings`;
/** Annotation: the name of the dev container in the pod. */
export const DEV_CONTAINER_ANNOTATION = `${PREFIX}/dev-container`;
/** Annotation: when dev mode was entered (only when a time is passed in). */
export const SINCE_ANNOTATION = `${PREFIX}/since`;
/** Annotation on generated objects: `Kind/name` of the workload they stand in for. */
export const GENERATED_FOR_ANNOTATION = `${PREFIX}/generated-for`;
/** Annotation on a workload that opts in to dev mode in `render` (value "true"). */
export const OPT_IN_ANNOTATION = `${PREFIX}/enabled`;

/** Prefix of every volume and container dev mode adds, so they never shadow the pod's own. */
export const ADDED_NAME_PREFIX = 'kubectl-dev-';
export const WORKDIR_VOLUME = `${ADDED_NAME_PREFIX}workdir`;
export const SYNCTHING_HOME_VOLUME = `${ADDED_NAME_PREFIX}syncthing`;
export const SYNCTHING_SECRET_VOLUME = `${ADDED_NAME_PREFIX}syncthing-secret`;
export const SIDECAR_CONTAINER = `${ADDED_NAME_PREFIX}sync`;

/** Key the DaemonSet's nodeSelector gets so no node matches and its pods go away. */
export const PAUSE_NODE_SELECTOR_KEY = `${PREFIX}/paused`;
export const PAUSE_NODE_SELECTOR_VALUE = 'dev-mode';

/** Annotations the Kubernetes API server accepts on one object, keys and values together. */
export const ANNOTATIONS_MAX_BYTES = 262_144;

/** Annotations that decide which container commands such as `kubectl logs` pick by default. */
export const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';

/** Annotation Helm puts on hook objects; dev mode never touches them. */
export const HELM_HOOK_ANNOTATION = 'helm.sh/hook';

// Live mode's own marks (the pure rewrite never writes these).

/** Annotation: the workload's metadata.generation right after dev mode's change; another value at `end` means someone changed it. */
export const GENERATION_ANNOTATION = `${PREFIX}/generation`;
/** Label on a HorizontalPodAutoscaler clamped to one replica: the workload label value it was clamped for. */
export const CLAMPED_FOR_LABEL = `${PREFIX}/clamped-for`;
/** Annotation on a clamped HPA: JSON of its original minReplicas and maxReplicas. */
export const HPA_ORIGINAL_ANNOTATION = `${PREFIX}/hpa-original`;
/** Annotation on a workload whose original is kept in a ConfigMap (too large for an annotation): the ConfigMap's name. */
export const ORIGINAL_CONFIGMAP_ANNOTATION = `${PREFIX}/original-configmap`;
/** Key of the original in such a ConfigMap (and in a Pod's state ConfigMap). */
export const ORIGINAL_CONFIGMAP_KEY = 'original.json';
