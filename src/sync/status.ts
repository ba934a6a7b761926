// What a sync is doing, from the two syncthings' REST APIs: connected, syncing,
// idle or error, with the last error. The decision is a pure function of a
// snapshot, so it is tested without processes.

import { DevError } from '../core/errors.ts';
import type { Completion, DbStatus, SyncthingRest } from './rest.ts';
import type { Clock } from './process.ts';
import type { SyncStateName } from './state.ts';

export interface SyncSnapshot {
  /** The local syncthing answers. */
  localUp: boolean;
  connected: boolean;
  local?: DbStatus;
  /** The sidecar's completion as the local side sees it. */
  remoteCompletion?: Completion;
  /** The sidecar's own view, when its REST API is reachable. */
  remote?: DbStatus;
  /** How far the sidecar has received the local side's index (the local index sequence it has). */
  remoteHasLocalSequence?: number;
  remoteErrors: Array<{ path: string; error: string }>;
  localErrors: Array<{ path: string; error: string }>;
  /**
   * True when everything the sidecar lacks is something changed in the container
   * (send-only mode keeps such changes until the local file changes again).
   */
  divergedOnly?: boolean;
  /** The most recent problem seen by the session (port-forward, syncthing exit, …). */
  sessionError?: string;
  /** The local folder is paused: the session holds its index back while the initial copy runs. */
  localPaused?: boolean;
}

export interface SyncStatus {
  state: SyncStateName;
  connected: boolean;
  /** 0–100, the sidecar's completion of the local state. */
  completion?: number;
  needItems?: number;
  needBytes?: number;
  /** Problems in effect now (folder errors, pull errors). */
  errors: string[];
  /** Items changed in the container and kept there (send-only mode). */
  containerChanges?: number;
  lastError?: string;
  lastErrorAt?: string;
  pod?: string;
}

function describeErrors(side: string, errors: Array<{ path: string; error: string }>): string[] {
  if (errors.length === 0) return [];
  const first = errors.slice(0, 3).map((e) => `${e.path}: ${e.error}`);
  return [`${side}: ${errors.length} item(s) failed — ${first.join('; ')}${errors.length > 3 ? '; …' : ''}`];
}

/** Decides the state from a snapshot. */
export function summarize(s: SyncSnapshot): Omit<SyncStatus, 'lastError' | 'lastErrorAt' | 'pod'> {
  const errors = [
    ...(s.local?.error ? [`local folder: ${s.local.error}`] : []),
    ...(s.remote?.error ? [`dev container folder: ${s.remote.error}`] : []),
    ...describeErrors('dev container', s.remoteErrors),
    ...describeErrors('local', s.localErrors),
  ];
  const base = {
    connected: s.connected,
    errors,
    ...(s.remoteCompletion ? { completion: s.remoteCompletion.completion, needItems: s.remoteCompletion.needItems, needBytes: s.remoteCompletion.needBytes } : {}),
  };
  if (!s.localUp) return { ...base, state: 'error', errors: errors.length > 0 ? errors : [s.sessionError ?? 'local syncthing is not running'] };
  if (s.localPaused) return { ...base, state: 'syncing' };
  if (errors.length > 0) return { ...base, state: 'error' };
  if (!s.connected) return { ...base, state: 'connecting' };
  const busy = (st: string | undefined) => st !== undefined && st !== 'idle';
  // The sidecar itself can tell first: it has received the local index up to its current
  // sequence and needs nothing (the local side learns it only from the sidecar's index
  // updates, measured ~0.2 s later after a first sync of 5,000 files).
  const remoteConfirms = s.remote !== undefined && s.local !== undefined && s.remoteHasLocalSequence !== undefined &&
    s.remoteHasLocalSequence >= s.local.sequence && s.remote.needTotalItems === 0 && !busy(s.remote.state);
  const complete = s.divergedOnly === true || remoteConfirms ||
    (s.remoteCompletion !== undefined && s.remoteCompletion.completion >= 100 && s.remoteCompletion.needItems === 0 && s.remoteCompletion.needDeletes === 0);
  // When the sidecar answers, it must also have the local side's current index (same global state) and need nothing.
  const remoteHasIt = s.remote === undefined || s.local === undefined || (
    s.remote.needTotalItems === 0 && !busy(s.remote.state) &&
    s.remote.globalFiles === s.local.globalFiles && s.remote.globalBytes === s.local.globalBytes &&
    (s.remote.globalDirectories ?? 0) === (s.local.globalDirectories ?? 0));
  const withChanges = s.remote?.receiveOnlyTotalItems ? { containerChanges: s.remote.receiveOnlyTotalItems } : {};
  if (!complete || busy(s.local?.state) || !remoteHasIt) return { ...base, ...withChanges, state: 'syncing' };
  return { ...base, ...withChanges, state: 'idle' };
}

/** Takes a snapshot from the two REST APIs (the remote one may be missing or unreachable). */
export async function snapshot(input: { local: SyncthingRest; remote?: SyncthingRest | undefined; folderId: string; sidecarDeviceId: string; localDeviceId?: string; sessionError?: string }): Promise<SyncSnapshot> {
  const { local, remote, folderId, sidecarDeviceId, localDeviceId } = input;
  const snap: SyncSnapshot = { localUp: false, connected: false, remoteErrors: [], localErrors: [] };
  if (input.sessionError !== undefined) snap.sessionError = input.sessionError;
  try {
    const [connections, status, completion, errors] = await Promise.all([
      local.connections(),
      local.dbStatus(folderId),
      local.completion(folderId, sidecarDeviceId),
      local.folderErrors(folderId),
    ]);
    snap.localUp = true;
    snap.connected = connections.connections[sidecarDeviceId]?.connected === true;
    snap.local = status;
    snap.remoteCompletion = completion;
    snap.localErrors = errors.errors ?? [];
  } catch {
    // A paused folder answers "folder is paused" (the session pauses it while the initial copy runs).
    try {
      if ((await local.getFolder(folderId)).paused === true) {
        snap.localUp = true;
        snap.localPaused = true;
      }
    } catch {
      /* not up */
    }
    return snap;
  }
  if (remote && snap.connected) {
    try {
      // Read after the local status: a sequence here at least as high as that one covers it.
      const [status, errors, seen] = await Promise.all([remote.dbStatus(folderId), remote.folderErrors(folderId),
        localDeviceId !== undefined ? remote.completion(folderId, localDeviceId).catch(() => undefined) : undefined]);
      snap.remote = status;
      snap.remoteErrors = errors.errors ?? [];
      if (seen?.sequence !== undefined) snap.remoteHasLocalSequence = seen.sequence;
      const need = snap.remoteCompletion?.needItems ?? 0;
      if (need > 0 && need <= 1000 && (status.receiveOnlyTotalItems ?? 0) > 0) {
        const [needed, changed] = await Promise.all([local.remoteNeed(folderId, sidecarDeviceId), remote.localChanged(folderId)]);
        const names = [...(needed.files ?? []), ...(needed.progress ?? []), ...(needed.queued ?? []), ...(needed.rest ?? [])].map((f) => f.name);
        const kept = new Set((changed.files ?? []).map((f) => f.name));
        snap.divergedOnly = names.length > 0 && names.every((n) => kept.has(n));
      }
    } catch {
      /* the sidecar's API is optional for the state */
    }
  }
  return snap;
}

export interface WaitInSyncInput {
  local: SyncthingRest;
  remote?: SyncthingRest | undefined;
  folderId: string;
  sidecarDeviceId: string;
  /** Lets the sidecar confirm the sync itself (see summarize). */
  localDeviceId?: string;
  clock: Clock;
  timeoutMs: number;
  /** How long errors may persist before waiting gives up with them. */
  errorGraceMs?: number;
  /** Current problem of the session, shown when waiting times out. */
  sessionError?: () => string | undefined;
  /** Each change of what the wait sees (KUBECTL_DEV_SYNC_DEBUG). */
  debug?: (message: string) => void;
  /** True while the local folder is paused on purpose (the session's initial copy): nothing to read yet. */
  held?: () => boolean;
  /** True while the session still changes how the folders sync (the first sync of --initial): idle does not count yet. */
  busy?: () => boolean;
  /** The error to end the wait with once the session has ended itself (its workload left dev mode). */
  ended?: () => DevError | undefined;
}

/**
 * Resolves when the sidecar has everything the local folder has now: a full
 * local scan first (so the local index is the disk's current state), then until
 * the sidecar's completion is 100% with nothing needed. Throws SYNC_REMOTE_ERROR
 * when errors persist, SYNC_TIMEOUT after `timeoutMs`.
 */
export async function waitInSync(input: WaitInSyncInput): Promise<SyncStatus> {
  const { clock } = input;
  const deadline = clock.now() + input.timeoutMs;
  const heldUntil = async () => {
    while (input.held?.() && clock.now() <= deadline) await clock.sleep(20);
  };
  const endedCheck = () => {
    const error = input.ended?.();
    if (error) throw error;
  };
  // The scan may have to wait for syncthing to come up.
  for (;;) {
    await heldUntil();
    endedCheck();
    try {
      await input.local.scan(input.folderId);
      break;
    } catch (error) {
      if (clock.now() > deadline) throw new DevError('SYNC_TIMEOUT', `local syncthing did not scan the folder: ${(error as Error).message}`, 'see kubectl dev status and the syncthing log in the state dir.');
      if (!input.held?.()) await clock.sleep(200); // paused meanwhile: heldUntil waits
    }
  }
  let errorsSince: number | undefined;
  let last: SyncStatus | undefined;
  let lastSeen: string | undefined;
  for (;;) {
    endedCheck();
    const snap = await snapshot({ ...input, sessionError: input.sessionError?.() });
    const status = summarize(snap);
    if (input.debug) {
      const seen = `${status.state}${snap.connected ? ' connected' : ''}, sidecar ${snap.remoteCompletion?.completion?.toFixed(1) ?? '?'}% as seen here` +
        (snap.remote ? `, sidecar: ${snap.remote.state}, needs ${snap.remote.needTotalItems}, ${snap.remote.globalFiles} global / ${snap.local?.globalFiles} here` : '');
      if (seen !== lastSeen) input.debug(`waiting: ${seen}`);
      lastSeen = seen;
    }
    last = status;
    // A snapshot taken while the session stopped itself is not an answer.
    endedCheck();
    if (status.state === 'idle' && !input.busy?.()) return status;
    if (status.state === 'error' && status.errors.length > 0) {
      errorsSince ??= clock.now();
      if (clock.now() - errorsSince >= (input.errorGraceMs ?? 3_000)) {
        throw new DevError('SYNC_REMOTE_ERROR', `sync failed: ${status.errors.join('; ')}`,
          'fix the cause (permissions or free space in the dev container\'s work dir, or the local folder), then run kubectl dev sync again.');
      }
    } else {
      errorsSince = undefined;
    }
    if (clock.now() > deadline) {
      const why = status.state === 'connecting' ? `not connected to the dev pod${input.sessionError?.() ? ` (${input.sessionError()})` : ''}` : `${status.state}, ${status.completion ?? 0}% done`;
      throw new DevError('SYNC_TIMEOUT', `the dev container was not in sync within ${Math.round(input.timeoutMs / 1000)} s: ${why}`,
        'check kubectl dev status; the dev pod must be running and its sync sidecar ready.');
    }
    // Every 100 ms: the moment the sidecar connects counts too (the initial sync ends soon after).
    await clock.sleep(100);
  }
}
