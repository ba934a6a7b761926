// `kubectl dev status`: workloads in dev mode, found from what exists only for workloads in dev
// mode, so that the cost follows their number, not the number of workloads in the cluster
// (a labelled LIST per kind makes the API server go through every workload of that kind):
//   - the sync Secrets (metadata only): start creates one before it changes the workload and
//     writes on it since when the workload is in dev mode; `sync` creates one for a workload
//     the post-renderer put in dev mode;
//   - the dev pods: every workload in dev mode runs one, however it got there.
// Both in one round, in parallel. Then each workload found is read (GET, in parallel) to see
// whether it is in dev mode or another field manager reverted it (core/revert.ts): a dev pod
// without a Secret (the post-renderer's), a Secret without a live pod (starting, failing, or a
// start or end that was interrupted: shown as such). Users who may not read Secrets get a LIST per kind.

import { duplicateOf } from '../core/duplicate.ts';
import { isInDevMode, recordedSettings } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { isPodKind, WORKLOAD_KINDS, type WorkloadKind } from '../core/kinds.ts';
import { describeHolder, parseHolder } from '../core/holder.ts';
import { DEV_CONFIG_ANNOTATION, DEV_CONFIG_NAME_ANNOTATION, DEV_CONTAINER_ANNOTATION, DEV_MODE_LABEL, GENERATED_FOR_ANNOTATION, HOLDER_ANNOTATION, SINCE_ANNOTATION, WORKLOAD_LABEL } from '../core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { revertedText } from '../core/revert.ts';
import type { ClusterApi } from '../kube/api.ts';
import { apiVersionOf } from './objects.ts';
import { podHealth } from './pod-health.ts';
import { readDevModeCheck } from './revert.ts';

export interface StatusRow {
  kind: string;
  name: string;
  namespace: string;
  container: string;
  devPod: string;
  phase: string;
  since: string;
  /** Who started dev mode (`alice on laptop-7`), "-" when not recorded. */
  heldBy: string;
  sync: string;
  /** A dev copy (duplicate mode): `Kind/name` of the original it copies, which is not in dev mode. */
  duplicateOf?: string;
  /** The dev config `up` started it from (its name), '-' for a workload started alone. */
  config: string;
  /** That dev config's file, where `up` ran. */
  configPath?: string;
  /** Set when another field manager reverted dev mode: who (absent when managedFields name no one), how, when, and which of dev mode's fields it undid. */
  reverted?: { by?: string; operation?: string; at?: string; undone: string[] };
}

export interface StatusRequest {
  /** undefined: all namespaces. */
  namespace: string | undefined;
  /** Only this workload. */
  only?: { kind: WorkloadKind; name: string };
  /** Sync state of a workload, from the sync module (local state); "-" when unknown. */
  syncState?: (row: RowBase) => Promise<string>;
}

/** A row without what is added last: the sync state and the dev config. */
export type RowBase = Omit<StatusRow, 'sync' | 'config' | 'configPath'>;

/** The dev config `up` recorded on the sync Secret. */
function devConfigOf(secret: KubeObject | undefined): Pick<StatusRow, 'config' | 'configPath'> {
  const annotations = secret?.metadata?.annotations ?? {};
  const path = annotations[DEV_CONFIG_ANNOTATION];
  return { config: annotations[DEV_CONFIG_NAME_ANNOTATION] ?? path ?? '-', ...(path !== undefined ? { configPath: path } : {}) };
}

/** The phase of a workload whose sync Secret exists but which is not in dev mode. */
export const INTERRUPTED_PHASE = 'start interrupted — run end';

interface Candidate {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  /** Its sync Secret, when it exists and is not being deleted. */
  secret?: KubeObject;
  /** The workload itself, when a LIST already returned it. */
  workload?: KubeObject;
}

function podPhase(pod: KubeObject | undefined, container: string): string {
  if (!pod) return 'NoPod';
  const health = podHealth(pod, [container]);
  if (health.state === 'ready') return 'Ready';
  if (health.state === 'failed') return `Failed: ${health.reason}`;
  return String((pod.status as { phase?: string } | undefined)?.phase ?? 'Pending');
}

/**
 * The workload a workload label value names (`deployment.web`). A long name is cut and hashed
 * into the value: then the name read from it is not the workload's, which a GET tells.
 */
function parseWorkloadLabel(value: string): { kind: WorkloadKind; name: string } | undefined {
  const kind = WORKLOAD_KINDS.find((k) => value.startsWith(`${k.kind.toLowerCase()}.`));
  return kind ? { kind, name: value.slice(kind.kind.length + 1) } : undefined;
}

/** Kind and name from a sync Secret: its generated-for annotation (`Kind/name`), else its workload label. */
function secretWorkload(secret: KubeObject): { kind: WorkloadKind; name: string } | undefined {
  const [kindName, ...rest] = String(secret.metadata?.annotations?.[GENERATED_FOR_ANNOTATION] ?? '').split('/');
  const kind = WORKLOAD_KINDS.find((k) => k.kind === kindName);
  if (kind && rest.length > 0) return { kind, name: rest.join('/') };
  return parseWorkloadLabel(String(secret.metadata?.labels?.[WORKLOAD_LABEL] ?? ''));
}

const live = (obj: KubeObject) => !obj.metadata?.deletionTimestamp;

/** The holder recorded on a workload or its sync Secret, as the status shows it. */
function heldBy(obj: KubeObject | undefined): string | undefined {
  const holder = parseHolder(obj?.metadata?.annotations?.[HOLDER_ANNOTATION]);
  return holder && (holder.user || holder.host) ? describeHolder(holder) : undefined;
}

const newestFirst = (a: KubeObject, b: KubeObject) => String(b.metadata?.creationTimestamp).localeCompare(String(a.metadata?.creationTimestamp));

/** The one workload asked for with its namespace: read directly, its Secret by its known name. */
type Direct = { kind: WorkloadKind; name: string; namespace: string };

/** What the first round read, in parallel: sync Secrets (undefined: the user may not read them), dev pods, the direct workload. */
interface FirstRound {
  secrets: KubeObject[] | undefined;
  pods: KubeObject[];
  directWorkload: KubeObject | undefined;
}

/** What a candidate's row is made from (a row is read and checked alone, in parallel with the others). */
interface RowSources {
  request: StatusRequest;
  api: ClusterApi;
  direct: Direct | undefined;
  pods: KubeObject[];
  scan: (kind: WorkloadKind, namespace: string | undefined) => Promise<KubeObject[]>;
}

/** Workloads in dev mode of a kind in a namespace (a labelled LIST), once each. */
function devModeScanner(api: ClusterApi): RowSources['scan'] {
  const scans = new Map<string, Promise<KubeObject[]>>();
  return (kind, namespace) => {
    const key = `${namespace ?? ''}/${kind.kind}`;
    // A custom resource the cluster does not serve (its CRD not installed), or that the user may not list, shows nothing.
    const notServed = (error: unknown) => (kind.customResource && error instanceof DevError && (error.code === 'NOT_FOUND' || error.code === 'FORBIDDEN') ? [] : Promise.reject(error));
    if (!scans.has(key)) scans.set(key, api.list(apiVersionOf(kind), kind.kind, namespace, { label: `${DEV_MODE_LABEL}=true` }).catch(notServed));
    return scans.get(key)!;
  };
}

async function firstRound(request: StatusRequest, api: ClusterApi, direct: Direct | undefined): Promise<FirstRound> {
  const onlyLabel = request.only ? workloadLabelValue(request.only.kind.kind, request.only.name) : undefined;
  const selector = { label: onlyLabel ? `${WORKLOAD_LABEL}=${onlyLabel}` : WORKLOAD_LABEL };
  const forbiddenAsUndefined = (error: unknown) => {
    if (error instanceof DevError && error.code === 'FORBIDDEN') return undefined;
    throw error;
  };
  const [secrets, pods, directWorkload] = await Promise.all([
    (direct
      // One workload in one namespace: its Secret has a known name.
      ? api.get({ apiVersion: 'v1', kind: 'Secret', name: syncSecretName(direct.kind.kind, direct.name), namespace: direct.namespace }).then((s) => (s ? [s] : []))
      : api.list('v1', 'Secret', request.namespace, selector, { metadataOnly: true })
    ).catch(forbiddenAsUndefined),
    api.list('v1', 'Pod', request.namespace, selector),
    direct ? api.get({ apiVersion: apiVersionOf(direct.kind), kind: direct.kind.kind, name: direct.name, namespace: direct.namespace }) : undefined,
  ]);
  return { secrets, pods, directWorkload };
}

/** The workloads that may be in dev mode, from the first round (and, without Secrets, a LIST per kind). */
async function findCandidates(request: StatusRequest, direct: Direct | undefined, first: FirstRound, scan: RowSources['scan']): Promise<Candidate[]> {
  const { secrets, pods, directWorkload } = first;
  const candidates = new Map<string, Candidate>();
  const consider = (kind: WorkloadKind, name: string, namespace: string, found: { secret?: KubeObject; workload?: KubeObject }) => {
    if (request.only && (request.only.kind !== kind || request.only.name !== name)) return;
    const key = `${namespace}/${kind.kind}/${name}`;
    const candidate = candidates.get(key) ?? { kind, name, namespace };
    candidates.set(key, { ...candidate, ...found });
  };
  if (direct && directWorkload) consider(direct.kind, direct.name, direct.namespace, { workload: directWorkload });

  for (const secret of (secrets ?? []).filter(live)) {
    const found = secretWorkload(secret);
    if (found) consider(found.kind, found.name, String(secret.metadata?.namespace ?? request.namespace), { secret });
  }
  // The labelled LIST per kind is for users who may not read Secrets, and for a dev pod whose label is a hash of a long name.
  if (secrets) {
    const secretLabels = new Set(secrets.filter(live).map((s) => `${s.metadata?.namespace}/${s.metadata?.labels?.[WORKLOAD_LABEL]}`));
    for (const pod of pods) {
      const namespace = String(pod.metadata?.namespace ?? request.namespace);
      const label = String(pod.metadata?.labels?.[WORKLOAD_LABEL] ?? '');
      // A Secret with this label names the workload exactly.
      if (secretLabels.has(`${namespace}/${label}`)) continue;
      const named = request.only ?? parseWorkloadLabel(label);
      // A Pod in dev mode is its own dev pod.
      if (named) consider(named.kind, named.name, namespace, isPodKind(named.kind) && named.name === pod.metadata?.name ? { workload: pod } : {});
    }
  } else if (!direct) {
    const kinds = request.only ? [request.only.kind] : WORKLOAD_KINDS;
    const perKind = await Promise.all(kinds.map((kind) => scan(kind, request.namespace)));
    kinds.forEach((kind, i) => {
      for (const item of perKind[i]!) consider(kind, String(item.metadata?.name), String(item.metadata?.namespace ?? request.namespace), { workload: item });
    });
  }
  return [...candidates.values()];
}

/** The workload of a candidate: from the LIST that found it, else a GET (and, for a dev pod whose label is a hash of a long name, the LIST of its kind). */
async function candidateWorkload(c: Candidate, from: RowSources, devPod: KubeObject | undefined, base: { name: string }): Promise<KubeObject | undefined> {
  const { api, direct, scan } = from;
  let workload = c.workload ?? (direct ? undefined : await api.get({ apiVersion: apiVersionOf(c.kind), kind: c.kind.kind, name: c.name, namespace: c.namespace }));
  if (!(workload && isInDevMode(workload)) && !c.secret && devPod) {
    // A live dev pod but no workload of that name in dev mode: the label is a hash of a long name.
    const devLabel = workloadLabelValue(c.kind.kind, c.name);
    workload = (await scan(c.kind, c.namespace)).find((item) => workloadLabelValue(c.kind.kind, String(item.metadata?.name)) === devLabel);
    if (workload) base.name = String(workload.metadata?.name);
  }
  return workload;
}

/**
 * A candidate's row; undefined when it is not in dev mode. The workload is always read: only
 * it tells whether another field manager reverted dev mode (the dev pod of a half-reverted
 * template still runs, with the other manager's command).
 */
async function candidateRow(c: Candidate, from: RowSources): Promise<StatusRow | undefined> {
  const { request, api, pods } = from;
  const devLabel = workloadLabelValue(c.kind.kind, c.name);
  const devPod = pods.filter((p) => p.metadata?.namespace === c.namespace && p.metadata?.labels?.[WORKLOAD_LABEL] === devLabel && live(p)).sort(newestFirst)[0];
  const base = { kind: c.kind.kind, name: c.name, namespace: c.namespace, devPod: devPod ? String(devPod.metadata?.name) : '-' };
  const secretSince = c.secret?.metadata?.annotations?.[SINCE_ANNOTATION];
  const workload = await candidateWorkload(c, from, devPod, base);
  if (workload) c.workload = workload;
  const { check } = workload ? await readDevModeCheck(workload, c.kind, c.namespace, api, secretSince) : { check: { state: 'not-in-dev-mode' as const } };
  const since = workload?.metadata?.annotations?.[SINCE_ANNOTATION] ?? secretSince ?? '-';
  const container = (workload && recordedSettings(workload)?.devContainer) ?? devPod?.metadata?.annotations?.[DEV_CONTAINER_ANNOTATION];
  const holder = heldBy(workload) ?? heldBy(c.secret) ?? '-';
  let row: RowBase;
  if (check.state === 'reverted') {
    const reverted = { ...(check.by ? { by: check.by.manager, operation: check.by.operation, at: check.by.time } : {}), undone: check.undone };
    row = { ...base, container: container ?? '-', phase: revertedText(check), since, reverted, heldBy: holder };
  } else if (check.state === 'in-dev-mode') {
    row = { ...base, container: container ?? '?', phase: podPhase(devPod, container ?? '?'), since, heldBy: holder };
  } else if (c.secret) {
    row = { ...base, container: '-', devPod: '-', phase: INTERRUPTED_PHASE, since: '-', heldBy: holder };
  } else {
    // Only dev pods that outlive a workload which has left dev mode.
    return undefined;
  }
  const copies = duplicateOf(devPod ?? {}) ?? duplicateOf(c.workload ?? {}) ?? duplicateOf(c.secret ?? {});
  if (copies !== undefined) row.duplicateOf = copies;
  return { ...row, sync: request.syncState ? await request.syncState(row) : '-', ...devConfigOf(c.secret) };
}

export async function devModeStatus(request: StatusRequest, api: ClusterApi): Promise<StatusRow[]> {
  const direct = request.only && request.namespace ? { ...request.only, namespace: request.namespace } : undefined;
  const first = await firstRound(request, api, direct);
  const scan = devModeScanner(api);
  const candidates = await findCandidates(request, direct, first, scan);
  const rows = await Promise.all(candidates.map((c) => candidateRow(c, { request, api, direct, pods: first.pods, scan })));
  return rows.filter((r): r is StatusRow => r !== undefined).sort((a, b) => `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`));
}

/** A local sync session that ended itself (its workload left dev mode elsewhere, or was deleted), from this machine's state. */
export interface EndedSession {
  kind: string;
  name: string;
  namespace: string;
  cause: 'deleted' | 'left-dev-mode' | 'reverted' | 'secret-deleted' | 'secret-replaced';
  reason: string;
  /** ISO time of the end. */
  at: string;
}

/** How long `status` lists a session that ended itself after its workload left dev mode. */
export const ENDED_SHOWN_MS = 24 * 3600_000;

/**
 * The rows with one more for each ended session whose workload is not among them any more
 * (no longer in dev mode, or gone), for a day after the end: what became of a sync that was
 * left running, instead of nothing at all.
 */
export function withEndedSessions(rows: readonly StatusRow[], ended: readonly EndedSession[], now: number): StatusRow[] {
  const listed = new Set(rows.map((r) => `${r.namespace}/${r.kind}/${r.name}`));
  const extra = ended
    .filter((e) => !listed.has(`${e.namespace}/${e.kind}/${e.name}`) && now - Date.parse(e.at) <= ENDED_SHOWN_MS)
    .map((e): StatusRow => ({
      kind: e.kind, name: e.name, namespace: e.namespace, container: '-', devPod: '-',
      phase: e.cause === 'deleted' ? 'Deleted' : e.cause === 'reverted' ? 'Reverted' : 'NotInDevMode', since: '-', heldBy: '-', sync: `ended: ${e.reason}`, config: '-',
    }));
  return [...rows, ...extra].sort((a, b) => `${a.namespace}/${a.kind}/${a.name}`.localeCompare(`${b.namespace}/${b.kind}/${b.name}`));
}
