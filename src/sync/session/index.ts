// One local sync session for one workload, wired from its parts: the tunnels to the
// dev pod's sidecar, the local syncthing, the initial copy, the per-pod sidecar setup
// and the monitor. This is the one place that holds the session's state (state.ts)
// and routes the parts' events into it; the parts do not know each other.

import { statSync } from 'node:fs';
import { DevError } from '../../core/errors.ts';
import { findSyncthing } from '../binary.ts';
import { applyIgnores, copyMatcher, ignoreMatcher, syncthingRules } from '../ignores.ts';
import { collectNow, keepYoungGenerationSmall } from '../memory.ts';
import { realClock } from '../process.ts';
import { SyncthingRest } from '../rest.ts';
import { clusterApi, type ClusterApi } from '../../kube/api.ts';
import { clientNodeExec } from '../../kube/exec.ts';
import type { SyncMaterial } from '../secret.ts';
import { acquireLock, ensurePrivateDir, killOrphanSyncthing, statePaths, versionsDir, type SyncTarget } from '../state.ts';
import { loadOrCreateSecret, syncTargetOf } from '../target.ts';
import { initialPlan, type InitialPlan } from '../initial.ts';
import { finishFirstSync, prepareFirstSync, type FirstSyncOptions } from './first-sync.ts';
import { matcherCovers, startInitialCopy } from './initial-copy.ts';
import { prepareHome, startLocalSyncthing, useSyncthingWatcher, watchLocalDir } from './local-syncthing.ts';
import { Core, Running, type SessionBase } from './running.ts';
import { holdsSidecar, initialState, localFolderPaused } from './state.ts';
import { openTunnels } from './tunnels.ts';
import type { RunSyncOptions, SyncDeps, SyncHandle } from './types.ts';

export type { RunSyncOptions, SyncDeps, SyncEvent, SyncHandle } from './types.ts';

export async function runSync(options: RunSyncOptions, deps: SyncDeps): Promise<SyncHandle> {
  keepYoungGenerationSmall();
  const core = new Core(deps.clock ?? realClock, debugOf(deps), deps.onEvent);
  core.debug('starting');
  const localDir = checkLocalDir(options.localDir);
  const binary = deps.binary ?? await findSyncthing({ ...(options.syncthingPath !== undefined ? { flag: options.syncthingPath } : {}), env: deps.env, cwd: localDir });
  const target = syncTargetOf(deps.kc, options.namespace, options.kind, options.name);
  const paths = statePaths(deps.env, target);
  ensurePrivateDir(paths.dir);
  core.defer(acquireLock(paths.lock, `${target.kind}/${target.name} in namespace ${target.namespace}`));
  try {
    return await start(core, options, deps, { localDir, binary, target, paths });
  } catch (error) {
    await core.cleanup();
    throw error;
  }
}

/** KUBECTL_DEV_SYNC_DEBUG=1: the session's steps on stderr, with seconds since the process started. */
function debugOf(deps: SyncDeps): (message: string) => void {
  if (deps.debug) return deps.debug;
  if (deps.env.KUBECTL_DEV_SYNC_DEBUG !== '1') return () => {};
  return (m) => process.stderr.write(`[sync ${(performance.now() / 1000).toFixed(3)} s, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB] ${m}\n`);
}

function checkLocalDir(dir: string): string {
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    return dir;
  } catch (error) {
    throw new DevError('SYNC_LOCAL_DIR', `the local directory ${dir} cannot be synced: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message}`,
      'pass an existing directory with --local-dir (default: the current directory).');
  }
}

async function start(core: Core, options: RunSyncOptions, deps: SyncDeps, base: SessionBase): Promise<SyncHandle> {
  const { localDir, binary, target, paths } = base;
  if (killOrphanSyncthing(paths)) core.notice('stopped a syncthing left over from an earlier session');
  core.debug(`syncthing ${binary.version} at ${binary.path}`);
  const cluster = clusterApi(deps.kc);
  const material = await readMaterial(core, cluster, target, options.createSecret ?? true);
  prepareHome(paths, material);
  core.debug('Secret read');

  // Ignore patterns: .stignore in the local dir (see ignores.ts).
  const plan = applyIgnores(localDir, options.ignores ?? []);
  if (plan.notApplied.length > 0) core.notice(`your .stignore is used as it is; these patterns are not in it and are synced: ${plan.notApplied.join(', ')}`);
  // The fast path skips what the local syncthing ignores (its platform's rules); the initial copy
  // leaves out what any platform's rules would ignore (copyMatcher).
  const isIgnored = ignoreMatcher(plan.lines, syncthingRules());
  // A new dev pod's empty folder gets the tree in one tar stream first (seed.ts), when the copy's
  // matcher decides from the same patterns as syncthing (they need nothing it lacks).
  const wantCopy = matcherCovers(plan.lines);
  // --initial other than local: the sidecar is held back until the folders have the first sync's roles.
  const first = initialPlan(options.initial ?? 'local');
  const hold = wantCopy || first.during !== undefined;
  core.state = initialState(wantCopy, hold);

  const tunnels = await openTunnels({ kc: deps.kc, cluster, namespace: target.namespace, kind: target.kind, name: target.name, clock: core.clock,
    ...(deps.portForward ? { portForward: deps.portForward } : {}), ...(deps.podFinder ? { podFinder: deps.podFinder } : {}), onError: core.fail, debug: core.debug });
  core.defer(() => tunnels.close());
  const remote = new SyncthingRest(`http://127.0.0.1:${tunnels.apiPort}`, material.remoteApiKey, { ...(deps.fetch ? { fetch: deps.fetch } : {}), timeoutMs: 5_000 });
  // Two-way: what the container deletes or changes on the laptop is kept there, outside the synced folder.
  const versions = options.twoWay || first.strategy === 'remote' ? versionsDir(paths) : undefined;
  const local = await startLocalSyncthing({
    paths, material, binary, env: deps.env, clock: core.clock, ...(deps.spawn ? { spawn: deps.spawn } : {}), ...(deps.fetch ? { fetch: deps.fetch } : {}),
    localDir, syncPort: tunnels.syncPort, ...(versions ? { versions } : {}),
    syncthingWatcher: options.watcher === 'syncthing', ...(options.watcherDelayS !== undefined ? { watcherDelayS: options.watcherDelayS } : {}),
    config: () => ({ twoWay: core.state.twoWayActive, watcherFallback: core.state.watcherFallback, sidecarPaused: holdsSidecar(core.state) }),
    onExit: (message) => {
      core.fail(message);
      core.notice(core.state.error!.message);
    },
    defer: core.defer,
  });
  // Before syncthing stops: its connection through a listener held for a dev pod that is gone would keep its stop waiting.
  core.defer(() => tunnels.close());
  core.debug('local syncthing started');

  let localUpResolve!: () => void;
  const localUp = new Promise<void>((resolve) => (localUpResolve = resolve));
  const bothHaveFiles = first.during ? firstSyncStep(core, first, { local: local.rest, remote, material, versions, localUp }) : undefined;
  const copy = hold ? startInitialCopy({
    local: local.rest, remote, folderId: material.folderId, sidecarDeviceId: material.sidecarDeviceId, finder: tunnels.finder,
    exec: deps.exec ?? clientNodeExec(deps.kc), namespace: target.namespace, workdir: material.workdir, localDir, isIgnored: copyMatcher(plan.lines),
    copy: wantCopy, ...(bothHaveFiles ? { bothHaveFiles } : {}),
    clock: core.clock, localUp, state: () => core.state, dispatch: core.dispatch, onError: core.fail, notice: core.notice, debug: core.debug,
  }) : undefined;
  if (copy) core.defer(() => copy.stop());
  await local.waitUp();
  localUpResolve();

  let fast: ReturnType<typeof watchLocalDir> | undefined;
  if (options.watcher !== 'syncthing') {
    const fallback = (why: string) => useOwnWatcher(core, local.rest, material.folderId, why);
    fast = watchLocalDir({ localDir, isIgnored, rest: local.rest, folderId: material.folderId, clock: core.clock,
      paused: () => localFolderPaused(core.state), stopped: copy?.signal ?? new AbortController().signal, onFailed: (why) => void fallback(why), onError: core.fail });
    const watching = fast;
    core.defer(() => watching.close());
    if (fast.failed) await fallback(fast.failed);
  }
  return new Running(core, options, deps, { ...base, material, tunnels, remote, local, ...(versions ? { versions } : {}), fast }).handle();
}

const WHAT_WINS: Readonly<Record<string, string>> = {
  remote: "the dev container's files win (what they replace or delete here is kept in VERSIONS)",
  newest: 'the newer version of each file wins, on both sides (the older is not kept)',
  'keep-both': 'the newer version of each file wins and the older is kept beside it as NAME.sync-conflict-DATE-TIME-DEVICE.EXT, on both sides',
};

/** When the sidecar's folder is not empty: the first sync's roles (still held), then its end in the background. */
function firstSyncStep(core: Core, plan: InitialPlan, parts: { local: SyncthingRest; remote: SyncthingRest; material: SyncMaterial; versions: string | undefined; localUp: Promise<void> }): (signal: AbortSignal) => Promise<void> {
  return async (signal) => {
    // The sidecar's folder may be known before the local syncthing's REST API answers.
    await parts.localUp;
    const o: FirstSyncOptions = {
      plan, local: parts.local, remote: parts.remote, folderId: parts.material.folderId, sidecarDeviceId: parts.material.sidecarDeviceId,
      localDeviceId: parts.material.localDeviceId, clock: core.clock, signal, debug: core.debug,
    };
    try {
      await prepareFirstSync(o);
    } catch (error) {
      core.fail(`preparing the first sync (--initial ${plan.strategy}): ${(error as Error).message}`);
      return;
    }
    core.dispatch({ type: 'first-sync', phase: 'running' });
    core.notice(`the laptop and the dev container both have files: ${(WHAT_WINS[plan.strategy] ?? '').replace('VERSIONS', parts.versions ?? '')} (--initial ${plan.strategy})`);
    void finishFirstSync(o).then(
      (done) => done && core.dispatch({ type: 'first-sync', phase: 'done' }),
      (error: unknown) => core.fail(`the first sync (--initial ${plan.strategy}): ${(error as Error).message}`),
    );
  };
}

/**
 * The Secret; meanwhile the start-up garbage (parsing the bundle, loading client-node) is
 * collected, which V8 would otherwise keep while a bulk transfer adds its own.
 */
async function readMaterial(core: Core, cluster: Pick<ClusterApi, 'get' | 'create'>, target: SyncTarget, create: boolean): Promise<SyncMaterial> {
  const reading = loadOrCreateSecret(cluster, target, create);
  await core.clock.sleep(1);
  const gcStart = performance.now();
  collectNow();
  core.debug(`collected start-up garbage in ${(performance.now() - gcStart).toFixed(0)} ms`);
  const material = await reading;
  if (!material.guiLocked) {
    core.notice(`the sync Secret ${material.secretName} was made by an older kubectl-dev: the sidecar's REST API has no password, so a cookie from it lets any process that reaches it in; end dev mode and start it again for a new Secret`);
  }
  return material;
}

/** kubectl-dev's watcher failed: syncthing's own watcher instead, once. */
async function useOwnWatcher(core: Core, rest: SyncthingRest, folderId: string, why: string): Promise<void> {
  if (core.state.watcherFallback) return;
  core.dispatch({ type: 'watcher-fallback' });
  core.notice(`${why}; using syncthing's own watcher (about 1 s per change) instead`);
  try {
    await useSyncthingWatcher(rest, folderId);
  } catch (error) {
    core.fail(`turning on syncthing's watcher: ${(error as Error).message}`);
  }
}
