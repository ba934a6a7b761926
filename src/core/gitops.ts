// Which GitOps tool manages a workload, from the marks the tools put on what they apply (pure).
// Flux's kustomize-controller and helm-controller label every object they apply with the name
// and namespace of their Kustomization or HelmRelease, and each honours an in-cluster
// annotation that makes it leave one object alone. Argo CD tracks objects by the annotation
// `argocd.argoproj.io/tracking-id` (annotation tracking, its default since 3.0) or by the label
// `app.kubernetes.io/instance` (label tracking), and has no per-object switch: only its
// Application's automated sync can be paused. Sources: docs/decisions.md, 2026-12-01 (GitOps).

import { PAUSED_SYNC_ANNOTATION } from './marks.ts';
import { isPlainObject, type KubeObject } from './objects.ts';

/** The labels Flux's controllers put on what they apply, and the annotation each honours to leave an object alone. */
export const FLUX_CONTROLLERS = [
  {
    controller: 'kustomize', owner: 'Kustomization',
    nameLabel: 'kustomize.toolkit.fluxcd.io/name', namespaceLabel: 'kustomize.toolkit.fluxcd.io/namespace',
    switchKey: 'kustomize.toolkit.fluxcd.io/reconcile',
  },
  {
    controller: 'helm', owner: 'HelmRelease',
    nameLabel: 'helm.toolkit.fluxcd.io/name', namespaceLabel: 'helm.toolkit.fluxcd.io/namespace',
    switchKey: 'helm.toolkit.fluxcd.io/driftDetection',
  },
] as const;

/** The value both Flux switches take to leave the object alone. */
export const FLUX_SWITCH_OFF = 'disabled';

export const ARGO_TRACKING_ANNOTATION = 'argocd.argoproj.io/tracking-id';
export const ARGO_INSTANCE_LABEL = 'app.kubernetes.io/instance';
export const ARGO_APPLICATION = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', group: 'argoproj.io', resource: 'applications' } as const;
/** Where Argo CD keeps its Applications unless told otherwise (its install namespace). */
export const ARGO_DEFAULT_NAMESPACE = 'argocd';

export type FluxManager = {
  tool: 'flux';
  controller: (typeof FLUX_CONTROLLERS)[number]['controller'];
  /** The Kustomization's or HelmRelease's name and namespace. */
  name: string;
  namespace?: string;
};

export type ArgoManager = {
  tool: 'argocd';
  application: string;
  /** Known when the mark names it (`namespace_name`, an owner reference's namespace). */
  applicationNamespace?: string;
  /**
   * How it was told: Argo CD's own annotation or an owner reference are certain; the instance
   * label alone is also what Helm charts set without Argo CD, so it counts only once the
   * Application is found.
   */
  evidence: 'tracking-id' | 'owner' | 'instance-label';
};

export type GitOpsManager = FluxManager | ArgoManager;

/** `ns_app` (an Application outside the control-plane namespace) or `app`: Application names have no `_`. */
function applicationName(value: string): { application: string; applicationNamespace?: string } {
  const cut = value.indexOf('_');
  return cut > 0 ? { application: value.slice(cut + 1), applicationNamespace: value.slice(0, cut) } : { application: value };
}

/** `app:group/Kind:namespace/name` → the app part, or undefined when it is not a tracking id. */
export function trackingIdApplication(value: string): string | undefined {
  const app = value.split(':')[0];
  return app && value.includes(':') ? app : undefined;
}

function argoManager(obj: KubeObject): ArgoManager | undefined {
  const tracking = obj.metadata?.annotations?.[ARGO_TRACKING_ANNOTATION];
  const fromTracking = typeof tracking === 'string' ? trackingIdApplication(tracking) : undefined;
  if (fromTracking) return { tool: 'argocd', ...applicationName(fromTracking), evidence: 'tracking-id' };
  const owners = Array.isArray(obj.metadata?.ownerReferences) ? obj.metadata.ownerReferences : [];
  const owner = owners.find((o) => isPlainObject(o) && o.kind === ARGO_APPLICATION.kind && String(o.apiVersion).startsWith(`${ARGO_APPLICATION.group}/`));
  if (isPlainObject(owner)) {
    const namespace = obj.metadata?.namespace;
    return { tool: 'argocd', application: String(owner.name), ...(namespace ? { applicationNamespace: namespace } : {}), evidence: 'owner' };
  }
  const instance = obj.metadata?.labels?.[ARGO_INSTANCE_LABEL];
  return typeof instance === 'string' && instance !== '' ? { tool: 'argocd', ...applicationName(instance), evidence: 'instance-label' } : undefined;
}

/** Every GitOps tool whose marks the workload carries (Flux first, then Argo CD). */
export function gitopsManagers(obj: KubeObject): GitOpsManager[] {
  const labels = obj.metadata?.labels ?? {};
  const found: GitOpsManager[] = [];
  for (const c of FLUX_CONTROLLERS) {
    const name = labels[c.nameLabel];
    if (typeof name !== 'string' || name === '') continue;
    const namespace = labels[c.namespaceLabel];
    found.push({ tool: 'flux', controller: c.controller, name, ...(typeof namespace === 'string' && namespace !== '' ? { namespace } : {}) });
  }
  const argo = argoManager(obj);
  if (argo) found.push(argo);
  return found;
}

const qualified = (name: string, namespace: string | undefined) => (namespace ? `${namespace}/${name}` : name);

export function fluxControllerOf(manager: FluxManager): (typeof FLUX_CONTROLLERS)[number] {
  return FLUX_CONTROLLERS.find((c) => c.controller === manager.controller)!;
}

/** `Flux Kustomization flux-system/apps`, `Argo CD Application argocd/shop`. */
export function describeManager(manager: GitOpsManager): string {
  if (manager.tool === 'flux') return `Flux ${fluxControllerOf(manager).owner} ${qualified(manager.name, manager.namespace)}`;
  return `Argo CD Application ${qualified(manager.application, manager.applicationNamespace)}`;
}

/** The annotations that make Flux leave the workload alone while it is in dev mode. */
export function fluxSwitches(managers: readonly GitOpsManager[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of managers) if (m.tool === 'flux') out[fluxControllerOf(m).switchKey] = FLUX_SWITCH_OFF;
  return out;
}

/** True when the Application is the one the mark names: its name, its namespace when the mark says it. */
export function isNamedApplication(app: KubeObject, manager: ArgoManager): boolean {
  if (app.metadata?.name !== manager.application) return false;
  return manager.applicationNamespace === undefined || app.metadata?.namespace === manager.applicationNamespace;
}

/** The Application's automated sync policy, undefined when it syncs only by hand. */
export function automatedSyncOf(app: KubeObject): unknown {
  const policy = isPlainObject(app.spec) ? app.spec.syncPolicy : undefined;
  return isPlainObject(policy) ? policy.automated : undefined;
}

/**
 * What `--gitops=pause` keeps on an Argo CD Application (annotation PAUSED_SYNC_ANNOTATION):
 * the automated sync policy it took away, exactly, and the workloads in dev mode that need it
 * paused (`namespace/kind.name`); the last one's `end` puts the policy back.
 */
export interface PausedSync {
  automated: unknown;
  for: string[];
}

export function parsePausedSync(text: string | undefined): PausedSync | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isPlainObject(parsed) || !Array.isArray(parsed.for) || !('automated' in parsed)) return undefined;
    return { automated: parsed.automated, for: parsed.for.map(String) };
  } catch {
    return undefined;
  }
}

function withPausedSync(app: KubeObject, record: PausedSync | undefined, automated: unknown): KubeObject {
  const copy = structuredClone(app);
  const annotations = { ...(copy.metadata?.annotations ?? {}) };
  if (record) annotations[PAUSED_SYNC_ANNOTATION] = JSON.stringify(record);
  else delete annotations[PAUSED_SYNC_ANNOTATION];
  copy.metadata = { ...copy.metadata, annotations };
  if (Object.keys(annotations).length === 0) delete copy.metadata.annotations;
  const spec: Record<string, unknown> = isPlainObject(copy.spec) ? copy.spec : {};
  // syncPolicy stays (empty) when automated goes: putting automated back then restores the spec exactly.
  const policy: Record<string, unknown> = isPlainObject(spec.syncPolicy) ? spec.syncPolicy : {};
  if (automated === undefined) delete policy.automated;
  else policy.automated = structuredClone(automated);
  copy.spec = { ...spec, syncPolicy: policy };
  return copy;
}

/** The Application with its automated sync paused for `workload` (undefined: nothing to change). */
export function pausedApplication(app: KubeObject, workload: string): KubeObject | undefined {
  const record = parsePausedSync(app.metadata?.annotations?.[PAUSED_SYNC_ANNOTATION]);
  const automated = automatedSyncOf(app);
  if (record?.for.includes(workload) && automated === undefined) return undefined;
  if (!record && automated === undefined) return undefined;
  const next: PausedSync = record ? { automated: record.automated, for: [...new Set([...record.for, workload])] } : { automated, for: [workload] };
  return withPausedSync(app, next, undefined);
}

/**
 * The Application once `workload` no longer needs its sync paused: the last one puts the
 * saved policy back (unless someone turned automated sync on again meanwhile: theirs stays).
 * Undefined: nothing to change (not paused for it).
 */
export function resumedApplication(app: KubeObject, workload: string): KubeObject | undefined {
  const record = parsePausedSync(app.metadata?.annotations?.[PAUSED_SYNC_ANNOTATION]);
  if (!record?.for.includes(workload)) return undefined;
  const rest = record.for.filter((w) => w !== workload);
  const current = automatedSyncOf(app);
  if (rest.length > 0) return withPausedSync(app, { automated: record.automated, for: rest }, current);
  return withPausedSync(app, undefined, current ?? record.automated);
}

/** What `start` found and did about GitOps, kept on the workload (annotation GITOPS_ANNOTATION) for `end` and `status`. */
export interface GitOpsRecord {
  /** describeManager of each tool found. */
  managedBy: string[];
  /** The annotations start set on the workload (Flux's switches); `end` puts the original values back. */
  switches?: Record<string, string>;
  /** The Argo CD Application whose automated sync start paused. */
  paused?: { namespace: string; name: string };
  /** `--gitops=ignore`: nothing was done about it. */
  ignored?: boolean;
}

export function parseGitOpsRecord(text: string | undefined): GitOpsRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isPlainObject(parsed) || !Array.isArray(parsed.managedBy)) return undefined;
    const record: GitOpsRecord = { managedBy: parsed.managedBy.map(String) };
    if (isPlainObject(parsed.switches)) record.switches = Object.fromEntries(Object.entries(parsed.switches).map(([k, v]) => [k, String(v)]));
    if (isPlainObject(parsed.paused) && typeof parsed.paused.name === 'string' && typeof parsed.paused.namespace === 'string') {
      record.paused = { namespace: parsed.paused.namespace, name: parsed.paused.name };
    }
    if (parsed.ignored === true) record.ignored = true;
    return record;
  } catch {
    return undefined;
  }
}
