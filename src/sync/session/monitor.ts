// The session's monitor: a status from each snapshot of the two syncthings
// (status.ts summarizes), published to the caller and to session.json; the check
// that the workload is still in dev mode (presence.ts decides); and the loop that
// runs both until the session stops.

import { ORIGINAL_CONFIGMAP_ANNOTATION, ORIGINAL_CONFIGMAP_KEY } from '../../core/marks.ts';
import type { KubeObject } from '../../core/objects.ts';
import type { ClusterApi } from '../../kube/api.ts';
import type { Clock } from '../process.ts';
import { presenceVerdict, type PresenceVerdict, type Seen } from '../presence.ts';
import { writeSession, type SessionInfo } from '../state.ts';
import type { SyncStatus } from '../status.ts';

/** session.json is rewritten at least this often while nothing changes (updatedAt shows the session lives). */
const REWRITE_MS = 5_000;

/** Whether a status differs from the last one in what the caller hears about. */
export function statusChanged(a: SyncStatus, b: SyncStatus): boolean {
  return a.state !== b.state || a.connected !== b.connected || a.errors.join() !== b.errors.join() ||
    a.lastError !== b.lastError || a.pod !== b.pod || a.completion !== b.completion;
}

/** The status from a summary: the dev pod, the session's last error, and "syncing" while the copy fills the container unconnected. */
export function statusOf(summary: Omit<SyncStatus, 'lastError' | 'lastErrorAt' | 'pod'>, o: { copying: boolean; pod?: string; error?: { message: string; at: string }; now: number }): SyncStatus {
  const status: SyncStatus = {
    ...summary,
    ...(o.copying && summary.state === 'connecting' ? { state: 'syncing' as const } : {}),
    ...(o.pod !== undefined ? { pod: o.pod } : {}),
    ...(o.error !== undefined ? { lastError: o.error.message, lastErrorAt: o.error.at } : {}),
  };
  if (summary.errors.length > 0) {
    status.lastError = summary.errors[0];
    status.lastErrorAt = new Date(o.now).toISOString();
  }
  return status;
}

/** The fields of session.json that do not change while the session runs. */
export type SessionFacts = Omit<SessionInfo, 'syncthingPid' | 'updatedAt' | 'state' | 'connected' | 'pod' | 'lastError' | 'lastErrorAt' | 'ended' | 'inDevModeAt'>;

export function sessionInfoOf(facts: SessionFacts, status: SyncStatus, o: { syncthingPid?: number; now: number; ended?: SessionInfo['ended']; inDevModeAt?: string }): SessionInfo {
  const { pid, ...rest } = facts;
  return {
    pid,
    ...(o.syncthingPid !== undefined ? { syncthingPid: o.syncthingPid } : {}),
    ...rest,
    updatedAt: new Date(o.now).toISOString(),
    state: status.state,
    connected: status.connected,
    ...(status.pod !== undefined ? { pod: status.pod } : {}),
    ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
    ...(status.lastErrorAt !== undefined ? { lastErrorAt: status.lastErrorAt } : {}),
    ...(o.ended ? { ended: o.ended } : {}),
    ...(o.inDevModeAt !== undefined ? { inDevModeAt: o.inDevModeAt } : {}),
  };
}

/** Holds the latest status; tells the caller when it changed, and keeps session.json current. */
export class Publisher {
  current: SyncStatus = { state: 'starting', connected: false, errors: [] };
  private lastWrite = 0;
  private readonly o: { clock: Clock; sessionPath: string; info: (status: SyncStatus) => SessionInfo; onChange: (status: SyncStatus) => void };

  constructor(o: Publisher['o']) {
    this.o = o;
  }

  /** `rewrite`: session.json is written even if the status did not change (a fact beside it did). */
  publish(status: SyncStatus, rewrite = false): void {
    const changed = statusChanged(status, this.current);
    this.current = status;
    if (changed) this.o.onChange(status);
    if (changed || rewrite || this.o.clock.now() - this.lastWrite > REWRITE_MS) {
      this.lastWrite = this.o.clock.now();
      try {
        writeSession(this.o.sessionPath, this.o.info(status));
      } catch {
        /* the state dir vanished: the status is still in memory */
      }
    }
  }
}

/** One presence check: two GETs side by side (and the original's ConfigMap, when it has one), decided by presence.ts. */
export async function checkPresence(o: {
  cluster: Pick<ClusterApi, 'get'>; kind: string; apiVersion: string; name: string; namespace: string;
  secretName: string; localCertPem: string; secretMissing: number;
}): Promise<PresenceVerdict> {
  const seen = (read: Promise<KubeObject | undefined>): Promise<Seen> =>
    read.then((object) => (object ? { object } : { absent: true as const }), (error: unknown) => ({ failed: (error as Error).message }));
  const [workload, secret] = await Promise.all([
    seen(o.cluster.get({ apiVersion: o.apiVersion, kind: o.kind, name: o.name, namespace: o.namespace })),
    seen(o.cluster.get({ apiVersion: 'v1', kind: 'Secret', name: o.secretName, namespace: o.namespace })),
  ]);
  // A large original is in a ConfigMap: the revert check compares with it (unreadable: the check tells nothing of a revert).
  const configMapName = 'object' in workload ? workload.object.metadata?.annotations?.[ORIGINAL_CONFIGMAP_ANNOTATION] : undefined;
  const configMap = configMapName === undefined ? undefined
    : await o.cluster.get({ apiVersion: 'v1', kind: 'ConfigMap', name: configMapName, namespace: o.namespace }).catch(() => undefined);
  const originalText = (configMap?.data as Record<string, string> | undefined)?.[ORIGINAL_CONFIGMAP_KEY];
  return presenceVerdict({
    kind: o.kind, name: o.name, namespace: o.namespace, secretName: o.secretName,
    workload, secret, localCertPem: o.localCertPem, secretMissing: o.secretMissing,
    ...(originalText !== undefined ? { originalText } : {}),
  });
}

/**
 * Ticks every `intervalMs` until `signal` aborts; starts a presence check every
 * `presenceIntervalMs`, beside the ticks and never awaited by them (a slow API server
 * must not hold the status back).
 */
export async function monitorLoop(o: {
  clock: Clock; signal: AbortSignal; intervalMs: number; presenceIntervalMs: number;
  tick: () => Promise<unknown>; presence: () => Promise<void>; onError: (message: string) => void; debug: (message: string) => void;
}): Promise<void> {
  let lastPresence: number | undefined;
  let presence: Promise<void> | undefined;
  while (!o.signal.aborted) {
    if (presence === undefined && (lastPresence === undefined || o.clock.now() - lastPresence >= o.presenceIntervalMs)) {
      lastPresence = o.clock.now();
      presence = o.presence()
        .catch((error: unknown) => o.debug(`dev mode check: ${(error as Error).message}`))
        .finally(() => (presence = undefined));
    }
    try {
      await o.tick();
    } catch (error) {
      o.onError(`status: ${(error as Error).message}`);
    }
    await o.clock.sleep(o.intervalMs, o.signal);
  }
}
