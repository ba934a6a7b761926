// The pure core: the dev-mode rewrite, its inverse, the kinds table, manifests and errors.
export { enter, enterWorkload, isInDevMode, isGenerated, type EnterOptions, type Target } from './enter.ts';
export { exit, exitWorkload } from './exit.ts';
export { WORKLOAD_KINDS, parseWorkloadRef, workloadKindOf, workloadKindByName, podTemplateOf, type WorkloadKind, type WorkloadRef } from './kinds.ts';
export { parseManifests, printManifests, type ParsedObject, type OutputFormat } from './manifests.ts';
export { DevError, isDevError, describeLocation, type ErrorCode, type ErrorLocation } from './errors.ts';
export * from './settings.ts';
export * as marks from './marks.ts';
export type { KubeObject } from './objects.ts';
