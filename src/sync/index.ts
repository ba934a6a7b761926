// The sync module's public face, for live mode (`start`, `end`, `status`) and for
// `kubectl dev sync`.
//
//   prepareSyncSecret(...)      the Secret `start` creates before patching the workload
//   runSync(options, deps)      a running session (after the dev pod is Ready); handle.stop() ends it
//   stopLocalSync(target, env)  what `end` calls: stops a session running in any process
//   readSyncState(target, env)  what `status` shows: connected / syncing / idle / error, last error
//   waitForSession(...)         `sync --wait/--once` against a session that already runs

import { spawn } from 'node:child_process';
import { openSync, closeSync, mkdirSync } from 'node:fs';
import { DevError } from '../core/errors.ts';
import { isAlive, realClock, signalGroup, type Clock } from './process.ts';
import { SyncthingRest } from './rest.ts';
import { sessionEndedError } from './presence.ts';
import { killOrphanSyncthing, lockHolderAlive, readLock, readSession, statePaths, type SessionInfo, type SyncTarget } from './state.ts';
import { syncTargetOf } from './target.ts';
import { snapshot, summarize, waitInSync, type SyncStatus } from './status.ts';

export { prepareSyncSecret, readSyncSecret, buildSyncSecret, generateSyncIdentities, workdirOf, type SyncSecret, type SyncMaterial, type PreparedSyncSecret, type PrepareSyncSecretInput } from './secret.ts';
export { runSync, type RunSyncOptions, type SyncDeps, type SyncHandle, type SyncEvent } from './session/index.ts';
export { syncTargetOf, clusterOf, loadOrCreateSecret } from './target.ts';
export { findSyncthing, INSTALL_HINT, MIN_SYNCTHING, type SyncthingBinary } from './binary.ts';
export { workloadKey, statePaths, configDir, type SyncTarget, type SessionInfo, type SyncStateName } from './state.ts';
export { deviceIdFromPem, deviceIdFromDer, isValidDeviceId } from './deviceid.ts';
export type { SyncStatus } from './status.ts';
/** Re-exported so that callers loading this module lazily get client-node's KubeConfig with it. */
export { KubeConfig } from '@kubernetes/client-node';

export interface LocalSyncState {
  /** Whether a session runs for the workload on this machine. */
  running: boolean;
  pid?: number;
  localDir?: string;
  status: SyncStatus;
  session?: SessionInfo;
}

/**
 * The state of the local sync for a workload, for `kubectl dev status`: asks the
 * running session's syncthings when there is one, else reports the last state it
 * recorded as `stopped`.
 */
export async function readSyncState(target: SyncTarget, env: NodeJS.ProcessEnv, options: { timeoutMs?: number } = {}): Promise<LocalSyncState> {
  const paths = statePaths(env, target);
  const session = readSession(paths.session);
  const lock = readLock(paths.lock);
  const running = lock !== undefined && lockHolderAlive(lock);
  if (running && session?.pid !== lock!.pid) {
    // A session is starting; what session.json says is from an earlier one.
    return { running: true, pid: lock!.pid, status: { state: 'starting', connected: false, errors: [] } };
  }
  if (!running || !session) {
    const status: SyncStatus = { state: 'stopped', connected: false, errors: [] };
    if (session?.lastError) status.lastError = session.lastError;
    if (session?.lastErrorAt) status.lastErrorAt = session.lastErrorAt;
    return { running: false, status, ...(session ? { session, localDir: session.localDir } : {}) };
  }
  const timeoutMs = options.timeoutMs ?? 3_000;
  const local = new SyncthingRest(session.localApi.url, session.localApi.apiKey, { timeoutMs });
  const remote = session.remoteApi ? new SyncthingRest(session.remoteApi.url, session.remoteApi.apiKey, { timeoutMs }) : undefined;
  const snap = await snapshot({ local, remote, folderId: session.folderId, sidecarDeviceId: session.sidecarDeviceId, localDeviceId: session.localDeviceId, ...(session.lastError ? { sessionError: session.lastError } : {}) });
  const status: SyncStatus = { ...summarize(snap), ...(session.pod ? { pod: session.pod } : {}) };
  if (status.errors.length > 0) status.lastError = status.errors[0];
  else if (session.lastError) {
    status.lastError = session.lastError;
    if (session.lastErrorAt) status.lastErrorAt = session.lastErrorAt;
  }
  return { running: true, pid: lock!.pid, localDir: session.localDir, status, session };
}

/**
 * Stops the local sync of a workload, whichever process runs it (`end` calls
 * this): SIGTERM to the session, which stops its syncthing and releases the lock;
 * SIGKILL after `timeoutMs`; then any syncthing it left behind. Resolves to true
 * when something was stopped.
 */
export async function stopLocalSync(target: SyncTarget, env: NodeJS.ProcessEnv, options: { timeoutMs?: number; clock?: Clock } = {}): Promise<boolean> {
  const clock = options.clock ?? realClock;
  const paths = statePaths(env, target);
  const lock = readLock(paths.lock);
  let stopped = false;
  if (lock && lock.pid !== process.pid && lockHolderAlive(lock)) {
    process.kill(lock.pid, 'SIGTERM');
    stopped = true;
    const deadline = clock.now() + (options.timeoutMs ?? 15_000);
    while (isAlive(lock.pid) && clock.now() < deadline) await clock.sleep(100);
    if (isAlive(lock.pid)) process.kill(lock.pid, 'SIGKILL');
  }
  if (killOrphanSyncthing(paths)) stopped = true;
  return stopped;
}

/** A running session's REST clients, from its session.json (undefined when none runs). */
export function attachSession(target: SyncTarget, env: NodeJS.ProcessEnv): { session: SessionInfo; local: SyncthingRest; remote?: SyncthingRest; pid: number } | undefined {
  const paths = statePaths(env, target);
  const lock = readLock(paths.lock);
  const session = readSession(paths.session);
  if (!lock || !lockHolderAlive(lock) || !session || session.pid !== lock.pid) return undefined;
  return {
    session,
    pid: lock.pid,
    local: new SyncthingRest(session.localApi.url, session.localApi.apiKey),
    ...(session.remoteApi ? { remote: new SyncthingRest(session.remoteApi.url, session.remoteApi.apiKey) } : {}),
  };
}

/** Waits until the session running for `target` (in any process) has the dev container in sync. */
export async function waitForSession(target: SyncTarget, env: NodeJS.ProcessEnv, options: { timeoutMs: number; clock?: Clock }): Promise<SyncStatus> {
  const attached = attachSession(target, env);
  if (!attached) throw new DevError('SYNC_TIMEOUT', `no local sync is running for ${target.kind}/${target.name}`, `start one: kubectl dev sync ${target.kind.toLowerCase()}/${target.name}`);
  return waitInSync({
    local: attached.local,
    remote: attached.remote,
    folderId: attached.session.folderId,
    sidecarDeviceId: attached.session.sidecarDeviceId,
    clock: options.clock ?? realClock,
    timeoutMs: options.timeoutMs,
    sessionError: () => readSession(statePaths(env, target).session)?.lastError,
    // A session that ended itself wrote why: the wait fails with it at once, not after the error grace.
    ended: () => recordedEnd(target, env),
  });
}

/** Why the session of `target` ended itself, from its session file (undefined when it did not). */
export function recordedEnd(target: SyncTarget, env: NodeJS.ProcessEnv): DevError | undefined {
  const end = readSession(statePaths(env, target).session)?.ended;
  return end ? sessionEndedError(end, target.kind, target.name, target.namespace) : undefined;
}

/**
 * Starts `command` (kubectl-dev's own sync command, without --wait) as a
 * background process with its output in the state dir, and waits until its
 * session has published how to reach it.
 */
export async function startBackgroundSync(target: SyncTarget, env: NodeJS.ProcessEnv, command: readonly string[], options: { timeoutMs: number; clock?: Clock; cwd: string }): Promise<number> {
  const clock = options.clock ?? realClock;
  const paths = statePaths(env, target);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const out = openSync(`${paths.dir}/background.log`, 'a', 0o600);
  // A long-running background process: a small young generation and few malloc arenas keep its memory down.
  const childEnv: NodeJS.ProcessEnv = {
    ...env,
    NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --max-semi-space-size=1`.trim(),
    MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX ?? '2',
  };
  const child = spawn(command[0]!, command.slice(1), { cwd: options.cwd, env: childEnv, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  child.unref();
  const pid = child.pid!;
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    const session = readSession(paths.session);
    if (session && session.pid === pid) return pid;
    if (exited !== undefined) {
      throw new DevError('SYNCTHING_FAILED', `the background sync exited (code ${exited}) before it was up`, `see ${paths.dir}/background.log.`);
    }
    if (clock.now() > deadline) {
      signalGroup(pid, 'SIGTERM');
      throw new DevError('SYNC_TIMEOUT', 'the background sync did not come up in time', `see ${paths.dir}/background.log.`);
    }
    await clock.sleep(100);
  }
}

