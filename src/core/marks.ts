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
/** Annotation on the dev pod template: a fingerprint of the sync Secret its sidecar is for (live mode). */
export const SYNC_SECRET_ANNOTATION = `${PREFIX}/sync-secret`;
/** Annotation: when dev mode was entered (only when a time is passed in). */
export const SINCE_ANNOTATION = `${PREFIX}/since`;
/** Annotation on generated objects: `Kind/name` of the workload they stand in for. */
export const GENERATED_FOR_ANNOTATION = `${PREFIX}/generated-for`;
/**
 * Duplicate mode. Annotation on a dev copy (and its pods and sync Secret): `Kind/name` of the
 * original it copies, which stays untouched. Label of the same key on the copy and its pods: the
 * original's workload label value (`kubectl get deploy,sts,job,pod -l dev.kubectl-dev.io/duplicate-of`
 * lists every copy).
 */
export const DUPLICATE_OF_ANNOTATION = `${PREFIX}/duplicate-of`;
export const DUPLICATE_OF_LABEL = `${PREFIX}/duplicate-of`;
/** Annotation on a dev copy whose pods keep the original's labels (`--take-traffic`), value "true". */
export const TAKES_TRAFFIC_ANNOTATION = `${PREFIX}/takes-traffic`;
/** Annotation on a dev copy: the user it was made for, as the API server named them. */
export const DUPLICATE_FOR_ANNOTATION = `${PREFIX}/duplicate-for`;
/** Annotation on a workload that opts in to dev mode in `render` (value "true"). */
export const OPT_IN_ANNOTATION = `${PREFIX}/enabled`;

/** Prefix of every volume and container dev mode adds, so they never shadow the pod's own. */
export const ADDED_NAME_PREFIX = 'kubectl-dev-';
export const WORKDIR_VOLUME = `${ADDED_NAME_PREFIX}workdir`;
export const SYNCTHING_HOME_VOLUME = `${ADDED_NAME_PREFIX}syncthing`;
export const SYNCTHING_SECRET_VOLUME = `${ADDED_NAME_PREFIX}syncthing-secret`;
export const SIDECAR_CONTAINER = `${ADDED_NAME_PREFIX}sync`;
/** The volume of the workload's persistent claim (`persist`), mounted with one subPath per persisted path. */
export const PERSIST_VOLUME = `${ADDED_NAME_PREFIX}persist`;
/** The init container that makes the persisted directories on the claim writable by any user. */
export const VOLUME_INIT_CONTAINER = `${ADDED_NAME_PREFIX}volume`;

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

/** The field manager of every write of live mode: managedFields tell its fields from another manager's. */
export const FIELD_MANAGER = 'kubectl-dev';

/** Annotation: the workload's metadata.generation right after dev mode's change; another value at `end` means someone changed it. */
export const GENERATION_ANNOTATION = `${PREFIX}/generation`;
/** Label on a HorizontalPodAutoscaler clamped to one replica: the workload label value it was clamped for. */
export const CLAMPED_FOR_LABEL = `${PREFIX}/clamped-for`;
/** Annotation on a clamped HPA: JSON of its original minReplicas and maxReplicas. */
export const HPA_ORIGINAL_ANNOTATION = `${PREFIX}/hpa-original`;
/** Annotation on a workload whose original is kept in a ConfigMap (too large for an annotation): the ConfigMap's name. */
export const ORIGINAL_CONFIGMAP_ANNOTATION = `${PREFIX}/original-configmap`;
/** Annotation on the sync Secret of a workload `up` started: the dev config file it was started from (absolute path). */
export const DEV_CONFIG_ANNOTATION = `${PREFIX}/dev-config`;
/** Annotation on that Secret: the dev config's name (its metadata.name, else its directory's name); `status` groups by it. */
export const DEV_CONFIG_NAME_ANNOTATION = `${PREFIX}/dev-config-name`;
/** Key of the original in such a ConfigMap (and in a Pod's state ConfigMap). */
export const ORIGINAL_CONFIGMAP_KEY = 'original.json';
/** Annotation on a workload in dev mode: JSON of what start found and did about GitOps (core/gitops.ts, live/gitops.ts). */
export const GITOPS_ANNOTATION = `${PREFIX}/gitops`;
/** Annotation on a workload in dev mode and on its sync Secret: JSON of who started it (core/holder.ts). */
export const HOLDER_ANNOTATION = `${PREFIX}/holder`;
/** Annotation on an Argo CD Application whose automated sync `--gitops=pause` took away: JSON of that policy and the workloads it is paused for. */
export const PAUSED_SYNC_ANNOTATION = `${PREFIX}/paused-sync`;
