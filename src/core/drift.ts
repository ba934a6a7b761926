// What `end` calls drift: a change made to a workload while it was in dev mode, which
// restoring the original would silently undo. Pure: the live side reads the objects.

import {
  DEV_MODE_LABEL, ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_ANNOTATION, SETTINGS_ANNOTATION, DEV_CONTAINER_ANNOTATION, SINCE_ANNOTATION, GENERATION_ANNOTATION, GITOPS_ANNOTATION, HOLDER_ANNOTATION,
} from './marks.ts';
import type { DevSettings, DevSettingsInput } from './settings.ts';

/** The annotations dev mode writes on a workload (start, render): never drift. */
export const WORKLOAD_MARK_ANNOTATIONS: ReadonlySet<string> = new Set([
  ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_ANNOTATION, SETTINGS_ANNOTATION, DEV_CONTAINER_ANNOTATION, SINCE_ANNOTATION, GENERATION_ANNOTATION, GITOPS_ANNOTATION, HOLDER_ANNOTATION,
]);

/** Revision counters the Deployment, DaemonSet and Argo Rollouts controllers write on their workloads. */
const CONTROLLER_ANNOTATIONS: ReadonlySet<string> = new Set([
  'deployment.kubernetes.io/revision', 'deprecated.daemonset.template.generation',
  'rollout.argoproj.io/revision', 'rollout.argoproj.io/workload-generation',
]);

/**
 * Annotations that others keep up to date on a workload and that `end` leaves at their
 * current value (so a change to them loses nothing): the Deployment and DaemonSet
 * controllers' revision counters, and Helm's release ownership (absent from the original when
 * the post-renderer put the workload in dev mode before Helm added it).
 * `kubectl.kubernetes.io/last-applied-configuration` is not among them: it is the record of a
 * `kubectl apply`, and putting an older one back would hide that apply from the next one.
 */
export function controllerOwnedAnnotation(key: string): boolean {
  return CONTROLLER_ANNOTATIONS.has(key) || key.startsWith('meta.helm.sh/');
}

/**
 * Labels others keep up to date, kept at their current value by `end` like those annotations:
 * Helm's `app.kubernetes.io/managed-by: Helm`, which Helm puts on every object it installs
 * after the post-renderer ran (so the original saved by render lacks it) and checks on upgrade.
 */
export function controllerOwnedLabel(key: string, value: string | undefined): boolean {
  return key === 'app.kubernetes.io/managed-by' && value === 'Helm';
}

type StringMap = Record<string, string> | null | undefined;

/** Keys added, removed or changed from `before` to `after`, sorted; `ignore` keys are left out. */
export function changedKeys(before: StringMap, after: StringMap, ignore: (key: string) => boolean = () => false): string[] {
  const a = before ?? {};
  const b = after ?? {};
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => !ignore(k) && a[k] !== b[k]).sort();
}

export interface MetadataDrift {
  labels: string[];
  annotations: string[];
}

/**
 * Labels and annotations changed since dev mode was entered: `expected` is the workload as
 * dev mode left it (or its original: dev mode adds only its own marks to a workload's
 * metadata), `current` as it is now. Dev mode's own marks and controller-owned labels and
 * annotations do not count.
 */
export function metadataDrift(expected: { labels?: StringMap; annotations?: StringMap }, current: { labels?: StringMap; annotations?: StringMap }): MetadataDrift {
  return {
    labels: changedKeys(expected.labels, current.labels, (k) => k === DEV_MODE_LABEL || controllerOwnedLabel(k, current.labels?.[k])),
    annotations: changedKeys(expected.annotations, current.annotations, (k) => WORKLOAD_MARK_ANNOTATIONS.has(k) || controllerOwnedAnnotation(k)),
  };
}

/** Recorded settings as input to `enter` again: the same input gives the same rewrite. */
export function settingsInputOf(settings: DevSettings): DevSettingsInput {
  const input: DevSettingsInput = {
    container: settings.container,
    image: settings.image,
    command: settings.command,
    workdir: settings.workdir,
    keepSecurityContext: settings.keepSecurityContext,
    sidecarImage: settings.sidecarImage,
  };
  if (settings.devContainer !== settings.container) input.renameContainer = settings.devContainer;
  if (settings.env !== undefined) input.env = settings.env;
  if (settings.resources !== undefined) input.resources = settings.resources;
  if (settings.cpu !== undefined) input.cpu = settings.cpu;
  if (settings.memory !== undefined) input.memory = settings.memory;
  if (settings.persist !== undefined) input.persist = settings.persist;
  return input;
}

/** `/template/spec/containers/0/image` → `spec.template.spec.containers[0].image`-like dotted path for messages. */
export function specPath(pointer: string): string {
  return `spec${pointer.replaceAll('/', '.')}`;
}
