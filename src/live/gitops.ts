// GitOps on `start` and `end`: read which tool manages the workload (core/gitops.ts) and, for
// Argo CD, its Application; then decide (pure) what start does about it — Flux: its per-object
// switch in the workload's own patch; Argo CD: refuse, or with --gitops=pause take the
// Application's automated sync away until `end`; --gitops=ignore: nothing — and what end puts back.

import jsonPatch from 'fast-json-patch';
import { DevError } from '../core/errors.ts';
import {
  ARGO_APPLICATION, ARGO_DEFAULT_NAMESPACE, automatedSyncOf, describeManager, fluxControllerOf, fluxSwitches, gitopsManagers, isNamedApplication,
  parsePausedSync, pausedApplication, resumedApplication, type ArgoManager, type GitOpsManager, type GitOpsRecord,
} from '../core/gitops.ts';
import type { WorkloadRef } from '../core/kinds.ts';
import { PAUSED_SYNC_ANNOTATION } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { restorableState } from '../core/original.ts';
import type { ClusterApi, ObjectRef } from '../kube/api.ts';
import { displayRef } from './objects.ts';
import type { PatchStep } from './plan.ts';

/** `--gitops`: pause an Argo CD Application's automated sync, or go ahead whatever manages the workload. */
export type GitOpsMode = 'pause' | 'ignore';

/** What was read about the workload's GitOps tools. */
export interface GitOpsState {
  managers: GitOpsManager[];
  /** The Argo CD Application the workload's marks name, when found. */
  application?: KubeObject;
  /** Why Applications could not be read (forbidden), when they could not. */
  unreadable?: string;
  /** With --gitops=pause: the permissions to patch the Application that the user lacks, as `verb resource`. */
  missing?: string[];
}

type WorkloadTarget = WorkloadRef & { namespace: string };

const applicationRef = (name: string, namespace: string): ObjectRef => ({ apiVersion: ARGO_APPLICATION.apiVersion, kind: ARGO_APPLICATION.kind, name, namespace });
const forbidden = (error: unknown) => error instanceof DevError && error.code === 'FORBIDDEN';
const refOf = (app: KubeObject) => ({ namespace: String(app.metadata?.namespace), name: String(app.metadata?.name) });

/**
 * The Application an Argo CD mark names: by name and namespace when the mark says the namespace;
 * else among all namespaces (one LIST by name), or, where that is forbidden, in Argo CD's default
 * namespace. Several of that name: the one deploying to the workload's namespace. No Application
 * CRD on the cluster: none.
 */
async function findApplication(manager: ArgoManager, workloadNamespace: string, api: ClusterApi): Promise<{ application?: KubeObject; unreadable?: string }> {
  const getIn = async (namespace: string) => {
    const app = await api.get(applicationRef(manager.application, namespace));
    return app ? { application: app } : {};
  };
  try {
    if (manager.applicationNamespace) return await getIn(manager.applicationNamespace);
    const named = (await api.list(ARGO_APPLICATION.apiVersion, ARGO_APPLICATION.kind, undefined, { field: `metadata.name=${manager.application}` })).filter((a) => isNamedApplication(a, manager));
    const deploying = named.filter((a) => (a.spec as { destination?: { namespace?: string } } | undefined)?.destination?.namespace === workloadNamespace);
    const pick = named.length === 1 ? named[0] : deploying.length === 1 ? deploying[0] : undefined;
    return pick ? { application: pick } : {};
  } catch (error) {
    if (error instanceof DevError && error.code === 'NOT_FOUND') return {};
    if (!forbidden(error)) throw error;
    if (!manager.applicationNamespace) {
      try {
        return await getIn(ARGO_DEFAULT_NAMESPACE);
      } catch (again) {
        if (!forbidden(again)) throw again;
      }
    }
    return { unreadable: (error as DevError).message };
  }
}

/** Everything start needs to decide about GitOps, read from the workload as it is without dev mode. */
export async function readGitOps(subject: KubeObject, ref: WorkloadTarget, mode: GitOpsMode | undefined, api: ClusterApi): Promise<GitOpsState> {
  const managers = gitopsManagers(subject);
  const argo = managers.find((m): m is ArgoManager => m.tool === 'argocd');
  if (!argo || mode === 'ignore') return { managers };
  const state: GitOpsState = { managers, ...(await findApplication(argo, ref.namespace, api)) };
  if (mode === 'pause' && state.application) {
    const { namespace } = refOf(state.application);
    const missing = await api.missingPermissions(['get', 'patch'].map((verb) => ({ verb, group: ARGO_APPLICATION.group, resource: ARGO_APPLICATION.resource, namespace })));
    if (missing.length > 0) state.missing = missing.map((p) => `${p.verb} ${p.resource}.${p.group}`);
  }
  return state;
}

/** What start does about GitOps: the workload's record and switches, an Application patch, notes; or a refusal. */
export interface GitOpsDecision {
  record?: GitOpsRecord;
  switches: Record<string, string>;
  pause?: PatchStep;
  notes: string[];
}

/** The id of a workload in an Application's paused-sync record. */
export const pausedSyncId = (namespace: string, workloadLabel: string) => `${namespace}/${workloadLabel}`;

function applicationPatch(app: KubeObject, changed: KubeObject, label: string, what: string): PatchStep {
  const { namespace, name } = refOf(app);
  return {
    type: 'patch', label, ref: applicationRef(name, namespace), operations: jsonPatch.compare(app, changed), from: app,
    precondition: {
      resourceVersion: app.metadata?.resourceVersion,
      retry: {
        state: JSON.stringify(restorableState(app)), attempts: 5,
        conflict: { message: `Argo CD Application ${namespace}/${name} changed while kubectl-dev was ${what} it`, hint: 'run the command again.' },
      },
    },
  };
}

function refusal(ref: WorkloadTarget, manager: ArgoManager, app: KubeObject | undefined): DevError {
  const where = app ? refOf(app).namespace : manager.applicationNamespace ?? ARGO_DEFAULT_NAMESPACE;
  const how = manager.evidence === 'tracking-id' ? 'its argocd.argoproj.io/tracking-id annotation' : manager.evidence === 'owner' ? 'its owner reference' : 'its app.kubernetes.io/instance label, and that Application exists';
  return new DevError('GITOPS_MANAGED',
    `${displayRef(ref)} is managed by ${describeManager(app ? { ...manager, applicationNamespace: where } : manager)} (${how}); Argo CD has no switch for one object, and its automated sync would revert dev mode`,
    `choose one: --duplicate (a dev copy beside it; the original stays as Argo CD wants it), --gitops=pause (pause the Application's automated sync until kubectl dev end; needs get and patch on applications.argoproj.io in namespace ${where}), or --gitops=ignore (go ahead: Argo CD may revert dev mode, and kubectl dev end then restores what is left); gitops: pause or ignore in the dev config does what the flag does.`,
    { object: `${ref.kind.kind}/${ref.name}` });
}

function argoDecision(argo: ArgoManager, state: GitOpsState, request: { ref: WorkloadTarget; mode: GitOpsMode | undefined; workloadId: string }): { pause?: PatchStep; paused?: GitOpsRecord['paused']; notes: string[] } {
  const { ref, mode } = request;
  const app = state.application;
  if (!app && argo.evidence === 'instance-label') {
    // The instance label alone is also what Helm charts set: Argo CD only with its Application found.
    return { notes: state.unreadable ? [`${displayRef(ref)} has the label app.kubernetes.io/instance=${argo.application}, which Argo CD uses for label tracking, but Applications could not be read (${state.unreadable}): if an Argo CD Application syncs it automatically, it will revert dev mode`] : [] };
  }
  const paused = app ? parsePausedSync(app.metadata?.annotations?.[PAUSED_SYNC_ANNOTATION]) : undefined;
  if (mode !== 'pause') {
    if (app && automatedSyncOf(app) === undefined && !paused) {
      return { notes: [`${displayRef(ref)} is managed by ${describeManager({ ...argo, applicationNamespace: refOf(app).namespace })}, which has no automated sync: a manual Sync would revert dev mode`] };
    }
    throw refusal(ref, argo, app);
  }
  if (!app) {
    throw new DevError('NOT_FOUND', `--gitops=pause: Argo CD Application ${argo.application} not found${state.unreadable ? ` (${state.unreadable})` : ''}`,
      `ask who runs Argo CD to pause its automated sync, or use --duplicate or --gitops=ignore.`);
  }
  const { namespace, name } = refOf(app);
  if (state.missing?.length) {
    throw new DevError('FORBIDDEN', `--gitops=pause needs to change Argo CD Application ${namespace}/${name}, and you may not: missing ${state.missing.join(', ')} in namespace ${namespace}`,
      `ask a cluster admin for get and patch on applications.argoproj.io in namespace ${namespace}, or use --duplicate or --gitops=ignore; nothing was changed.`);
  }
  const changed = pausedApplication(app, request.workloadId);
  const pause = changed ? { ...applicationPatch(app, changed, `pause the automated sync of Argo CD Application ${namespace}/${name}`, 'pausing'), noteAfter: `Argo CD Application ${namespace}/${name}: automated sync paused until kubectl dev end` } : undefined;
  const notes = automatedSyncOf(app) === undefined && !paused ? [`Argo CD Application ${namespace}/${name} has no automated sync: nothing to pause (a manual Sync would revert dev mode)`] : [];
  return { ...(pause ? { pause } : {}), ...(changed || paused ? { paused: { namespace, name } } : {}), notes };
}

/** Pure: what start does about the GitOps tools found (throws the refusal of an Argo CD workload without --gitops). */
export function gitopsDecision(state: GitOpsState, request: { ref: WorkloadTarget; mode: GitOpsMode | undefined; workloadId: string }): GitOpsDecision {
  const { managers } = state;
  if (managers.length === 0) return { switches: {}, notes: [] };
  const what = displayRef(request.ref);
  if (request.mode === 'ignore') {
    const managedBy = managers.map(describeManager);
    return { record: { managedBy, ignored: true }, switches: {}, notes: [`${what} is managed by ${managedBy.join(' and ')}; --gitops=ignore: nothing done about it, so it may revert dev mode`] };
  }
  const notes: string[] = [];
  for (const m of managers) {
    if (m.tool !== 'flux') continue;
    const c = fluxControllerOf(m);
    notes.push(c.controller === 'kustomize'
      ? `${what} is managed by ${describeManager(m)}: its reconcile is off for ${what} while in dev mode (${c.switchKey}: disabled), back as it was at end`
      : `${what} is managed by ${describeManager(m)}: its drift correction is off for ${what} while in dev mode (${c.switchKey}: disabled), back as it was at end; an upgrade of that release (a new chart or values) still replaces dev mode`);
  }
  const argo = managers.find((m): m is ArgoManager => m.tool === 'argocd');
  const argoPart = argo ? argoDecision(argo, state, request) : { notes: [] };
  notes.push(...argoPart.notes);
  const confirmed = managers.filter((m) => m.tool === 'flux' || state.application || m.evidence !== 'instance-label');
  const switches = fluxSwitches(managers);
  const described = confirmed.map((m) => (m.tool === 'argocd' && state.application ? describeManager({ ...m, applicationNamespace: refOf(state.application).namespace }) : describeManager(m)));
  const record: GitOpsRecord | undefined = described.length > 0
    ? { managedBy: described, ...(Object.keys(switches).length ? { switches } : {}), ...('paused' in argoPart && argoPart.paused ? { paused: argoPart.paused } : {}) }
    : undefined;
  return { ...(record ? { record } : {}), switches, ...('pause' in argoPart && argoPart.pause ? { pause: argoPart.pause } : {}), notes };
}

/** End: the Application patch that gives its automated sync back once no workload needs it paused (undefined: nothing to do). */
export function resumeStep(app: KubeObject | undefined, workloadId: string): PatchStep | undefined {
  const changed = app ? resumedApplication(app, workloadId) : undefined;
  if (!app || !changed) return undefined;
  const { namespace, name } = refOf(app);
  const back = automatedSyncOf(changed) !== undefined && automatedSyncOf(app) === undefined;
  return {
    ...applicationPatch(app, changed, back ? `resume the automated sync of Argo CD Application ${namespace}/${name}` : `release Argo CD Application ${namespace}/${name} (still paused for other workloads in dev mode)`, 'resuming'),
    reportAs: back ? `the paused automated sync of Application ${namespace}/${name} (resumed)` : `this workload's pause of Application ${namespace}/${name}`,
  };
}

/**
 * End: the Application to give its automated sync back, when start paused it for this workload:
 * the one the workload's record names, or (a start interrupted before it changed the workload)
 * the one its Argo CD marks name.
 */
export async function readPausedApplication(subject: KubeObject, record: GitOpsRecord | undefined, namespace: string, api: ClusterApi): Promise<KubeObject | undefined> {
  if (record?.paused) return api.get(applicationRef(record.paused.name, record.paused.namespace));
  const argo = gitopsManagers(subject).find((m): m is ArgoManager => m.tool === 'argocd');
  if (!argo) return undefined;
  return (await findApplication(argo, namespace, api)).application;
}
