// One local sync session for one workload: the Secret's identity, the state dir,
// two port-forward listeners (syncthing's sync port and its REST port in the dev
// pod), the local syncthing under supervision, the fast path, and a monitor that
// keeps the status (and session.json) current, reconnects after the dev pod
// is replaced, and ends the session when its workload leaves dev mode elsewhere.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { DevError } from '../core/errors.ts';
import { workloadKindByName } from '../core/kinds.ts';
import { DEV_MODE_LABEL, SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../core/marks.ts';
import { syncSecretName, workloadLabelValue } from '../core/names.ts';
import type { KubeObject } from '../core/objects.ts';
import { SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../core/settings.ts';
import { delaysNewConnections, findSyncthing, parseVersion, serveArgs, serveEnv, type SyncthingBinary } from './binary.ts';
import { configXml, localConfig, FOLDER_ID } from './config.ts';
import { randomApiKey, randomGuiCredentials } from './identity.ts';
import { applyIgnores, copyMatcher, ignoreMatcher, syncthingRules, type IgnorePlan } from './ignores.ts';
import { clientNodePortForward, describeKubeError, LabelPodFinder, PodPortForwarder, type PodFinder, type PortForwardFn } from './portforward.ts';
import { isAlive, realClock, signalGroup, Supervisor, type Clock, type Spawner } from './process.ts';
import { RestError, SyncthingRest, unixSocketUrl, type FetchLike, type SyncthingEvent } from './rest.ts';
import { collectNow, keepYoungGenerationSmall } from './memory.ts';
import { dropClosingWebSockets } from '../kube/websocket.ts';
import { clusterApi, type ClusterApi } from '../kube/api.ts';
import { presenceVerdict, sessionEndedError, type Seen } from './presence.ts';
import { clientNodeExec, listAndPlan, removeInContainer, seedContainer, topLevel, type ExecFn } from './seed.ts';
import { prepareSyncSecret, readSyncSecret, type SyncMaterial } from './secret.ts';
import {
  acquireLock, commandLineOf, ensurePrivateDir, readSession, statePaths, writePrivateFile, writeSession,
  type SessionEnd, type SessionInfo, type StatePaths, type SyncTarget,
} from './state.ts';
import { snapshot, summarize, waitInSync, type SyncStatus } from './status.ts';
import { FastPath } from './watch.ts';

export interface RunSyncOptions {
  namespace: string;
  /** Workload kind as typed or canonical ("deployment", "Deployment", "deploy"). */
  kind: string;
  name: string;
  /** Absolute path of the local directory. */
  localDir: string;
  /** Changes in the container come back too (after the initial sync, where the laptop wins). */
  twoWay?: boolean;
  /** --syncthing PATH */
  syncthingPath?: string;
  /** Ignore patterns from the dev config (`.git` is ignored by default). */
  ignores?: readonly string[];
  /** Create the sync Secret when it is missing (workloads put in dev mode by the post-renderer). Default true. */
  createSecret?: boolean;
  /**
   * `fallback` (default): kubectl-dev's own watcher drives scans; syncthing's
   * watcher is turned on only if that watcher fails. `syncthing`: only syncthing's
   * watcher (delay `watcherDelayS`), no fast path — the baseline of the benchmark.
   */
  watcher?: 'fallback' | 'syncthing';
  watcherDelayS?: number;
  /**
   * When the sidecar's folder is empty (a new dev pod), copy the local tree into
   * it with one tar stream (exec in the sidecar) before syncthing connects
   * (seed.ts). Default true; `KUBECTL_DEV_INITIAL_COPY=off` turns it off too.
   */
  initialCopy?: boolean;
}

export type SyncEvent =
  | { type: 'state'; status: SyncStatus }
  | { type: 'notice'; message: string };

export interface SyncDeps {
  kc: KubeConfig;
  env: NodeJS.ProcessEnv;
  clock?: Clock;
  spawn?: Spawner;
  fetch?: FetchLike;
  /** Defaults to client-node's PortForward. */
  portForward?: PortForwardFn;
  /** Defaults to a label lookup of the dev pod. */
  podFinder?: PodFinder;
  /** Defaults to client-node's Exec (the initial copy). */
  exec?: ExecFn;
  /** An already checked binary (skips the lookup). */
  binary?: SyncthingBinary;
  onEvent?: (event: SyncEvent) => void;
  /** Status refresh period. */
  monitorIntervalMs?: number;
  /** Reads the workload and its Secret to see whether it is still in dev mode. Defaults to src/kube/api.ts's. */
  cluster?: Pick<ClusterApi, 'get'>;
  /** How often that is checked (default 5 s). */
  presenceIntervalMs?: number;
  /** Receives detailed progress (port-forward attempts, reconnects) when given. */
  debug?: (message: string) => void;
}

export interface SyncHandle {
  readonly target: SyncTarget;
  readonly paths: StatePaths;
  readonly material: SyncMaterial;
  readonly local: SyncthingRest;
  readonly remote: SyncthingRest;
  readonly binary: SyncthingBinary;
  /** The latest status. */
  status(): SyncStatus;
  /** Takes a fresh snapshot now. */
  refresh(): Promise<SyncStatus>;
  /** Resolves when the dev container has the current local state. */
  waitInSync(timeoutMs?: number): Promise<SyncStatus>;
  /** Stops syncthing, the listeners and the watcher; releases the lock. */
  stop(): Promise<void>;
  /** Settles when the session has stopped. */
  readonly done: Promise<void>;
  /** Why the session ended itself (its workload left dev mode elsewhere, or was deleted); undefined otherwise. */
  ended(): SessionEnd | undefined;
  /** Numbers for tests and benchmarks. */
  stats(): { streams: number; syncthingRestarts: number; scans: number; watchedDirs: number; pod: string | undefined };
}

/**
 * Where the local syncthing's GUI/REST API listens. A unix socket in the session's state dir
 * (0700, so no other local user can even connect), created by syncthing itself: nothing is
 * bound here and released first for syncthing to bind again, which another process could
 * take in between and then read the API key of every request. A socket path has a length limit
 * (104 bytes on macOS, 108 on Linux): a long state dir gets a socket in a fresh 0700 directory
 * of the system's temp dir (mkdtemp), removed when the session stops. Windows, where Node
 * cannot connect to a unix socket, keeps a port on 127.0.0.1 (picked free, then bound by
 * syncthing): there the GUI's user and password and the API key are what protect it.
 */
async function localGuiAddress(stateDir: string): Promise<{ address: string; url: string; cleanup: () => void }> {
  if (process.platform === 'win32') {
    const port = await freeTcpPort();
    return { address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, cleanup: () => {} };
  }
  let dir = stateDir;
  let cleanup = () => {};
  if (Buffer.byteLength(join(dir, GUI_SOCKET)) > MAX_SOCKET_PATH) {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-'));
    chmodSync(dir, 0o700);
    const made = dir;
    cleanup = () => rmSync(made, { recursive: true, force: true });
  }
  const socket = join(dir, GUI_SOCKET);
  rmSync(socket, { force: true });
  return { address: socket, url: unixSocketUrl(socket), cleanup: () => {
    rmSync(socket, { force: true });
    cleanup();
  } };
}

const GUI_SOCKET = 'gui.sock';
/** Versions of each file kept by two-way sync. */
const KEPT_VERSIONS = 10;

/** Where two-way sync keeps what the container deleted or replaced on the laptop: the workload's state dir (0700), not the synced folder. */
export function versionsDir(paths: StatePaths): string {
  return join(paths.dir, 'versions');
}
/** sun_path is 104 bytes on macOS (108 on Linux), the final NUL included. */
const MAX_SOCKET_PATH = 100;

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function canonicalKind(kind: string): { kind: string; apiVersion: string } {
  const entry = workloadKindByName(kind);
  if (!entry) throw new DevError('UNSUPPORTED_KIND', `"${kind}" is not a workload kind kubectl-dev supports`, 'use deployment, statefulset, daemonset, job, cronjob or pod.');
  return { kind: entry.kind, apiVersion: entry.group === '' ? entry.version : `${entry.group}/${entry.version}` };
}

/** The cluster a KubeConfig points at (for the state dir key). */
export function clusterOf(kc: KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? 'unknown-cluster';
}

export function syncTargetOf(kc: KubeConfig, namespace: string, kind: string, name: string): SyncTarget {
  return { cluster: clusterOf(kc), namespace, kind: canonicalKind(kind).kind, name };
}

/** Reads the sync Secret; creates it for a workload in dev mode that has none (post-renderer case). */
export async function loadOrCreateSecret(kc: KubeConfig, target: SyncTarget, create: boolean): Promise<SyncMaterial> {
  const core = kc.makeApiClient(CoreV1Api);
  const secretName = syncSecretName(target.kind, target.name);
  const what = `${target.kind}/${target.name} in namespace ${target.namespace}`;
  try {
    return readSyncSecret(await core.readNamespacedSecret({ name: secretName, namespace: target.namespace }));
  } catch (error) {
    if ((error as { code?: number }).code !== 404) {
      if (error instanceof DevError) throw error;
      throw new DevError('API_ERROR', `reading Secret ${secretName}: ${describeKubeError(error)}`, 'check access to the cluster and the namespace (kubectl auth can-i get secrets).');
    }
  }
  const { apiVersion, kind } = canonicalKind(target.kind);
  let workload: KubeObject;
  try {
    const objects = KubernetesObjectApi.makeApiClient(kc);
    workload = (await objects.read({ apiVersion, kind, metadata: { name: target.name, namespace: target.namespace } })) as unknown as KubeObject;
  } catch (error) {
    if ((error as { code?: number }).code === 404) {
      throw new DevError('NOT_FOUND', `${what} was not found`, 'check the name and the namespace (-n).');
    }
    throw new DevError('API_ERROR', `reading ${what}: ${describeKubeError(error)}`, 'check access to the cluster.');
  }
  if (workload.metadata?.labels?.[DEV_MODE_LABEL] !== 'true') {
    throw new DevError('SYNC_NOT_IN_DEV_MODE', `${what} is not in dev mode`, `start dev mode first: kubectl dev start ${target.kind.toLowerCase()}/${target.name}`);
  }
  if (!create) {
    throw new DevError('SYNC_NOT_IN_DEV_MODE', `${what} has no sync Secret ${secretName}`, `run kubectl dev sync ${target.kind.toLowerCase()}/${target.name} to create it.`);
  }
  const { secret } = prepareSyncSecret({ workload, kind, namespace: target.namespace });
  const uid = workload.metadata?.uid;
  const body = {
    ...secret,
    metadata: {
      ...secret.metadata,
      ...(typeof uid === 'string' ? { ownerReferences: [{ apiVersion, kind, name: target.name, uid }] } : {}),
    },
  };
  try {
    await core.createNamespacedSecret({ namespace: target.namespace, body: body as never });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) {
      throw new DevError('API_ERROR', `creating Secret ${secretName}: ${describeKubeError(error)}`, 'check that you may create Secrets in the namespace (kubectl auth can-i create secrets).');
    }
    // Someone else created it first: use theirs.
    return readSyncSecret(await core.readNamespacedSecret({ name: secretName, namespace: target.namespace }));
  }
  return readSyncSecret(body);
}

/** Kills a syncthing left running by a session that died without cleaning up. */
export function killOrphanSyncthing(paths: StatePaths): boolean {
  const previous = readSession(paths.session);
  const pid = previous?.syncthingPid;
  if (pid === undefined || !isAlive(pid)) return false;
  const command = commandLineOf(pid);
  if (command === undefined || !command.includes(paths.home)) return false;
  signalGroup(pid, 'SIGTERM');
  return true;
}

/** Writes cert.pem/key.pem into the local home; a different identity resets syncthing's database there. */
function prepareHome(paths: StatePaths, material: SyncMaterial): void {
  ensurePrivateDir(paths.dir);
  const certPath = join(paths.home, 'cert.pem');
  const previous = existsSync(certPath) ? readFileSync(certPath, 'utf8') : undefined;
  if (previous !== material.localCertPem) rmSync(paths.home, { recursive: true, force: true });
  ensurePrivateDir(paths.home);
  writePrivateFile(certPath, material.localCertPem);
  writePrivateFile(join(paths.home, 'key.pem'), material.localKeyPem);
}

export async function runSync(options: RunSyncOptions, deps: SyncDeps): Promise<SyncHandle> {
  keepYoungGenerationSmall();
  const clock = deps.clock ?? realClock;
  const emit = (event: SyncEvent) => deps.onEvent?.(event);
  // KUBECTL_DEV_SYNC_DEBUG=1: the session's steps on stderr, with seconds since the process started (for benchmarks and bug reports).
  const debug = deps.debug ?? (deps.env.KUBECTL_DEV_SYNC_DEBUG === '1' ? (m: string) => process.stderr.write(`[sync ${(performance.now() / 1000).toFixed(3)} s, rss ${Math.round(process.memoryUsage.rss() / 2 ** 20)} MiB] ${m}\n`) : () => {});
  debug('starting');
  let localDir: string;
  try {
    if (!statSync(options.localDir).isDirectory()) throw new Error('not a directory');
    localDir = options.localDir;
  } catch (error) {
    throw new DevError('SYNC_LOCAL_DIR', `the local directory ${options.localDir} cannot be synced: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message}`,
      'pass an existing directory with --local-dir (default: the current directory).');
  }
  const binary = deps.binary ?? await findSyncthing({ ...(options.syncthingPath !== undefined ? { flag: options.syncthingPath } : {}), env: deps.env, cwd: localDir });
  const target = syncTargetOf(deps.kc, options.namespace, options.kind, options.name);
  const what = `${target.kind}/${target.name}`;
  const paths = statePaths(deps.env, target);
  ensurePrivateDir(paths.dir);
  const releaseLock = acquireLock(paths.lock, `${what} in namespace ${target.namespace}`);
  const cleanups: Array<() => Promise<void> | void> = [releaseLock];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
  };
  try {
    if (killOrphanSyncthing(paths)) emit({ type: 'notice', message: 'stopped a syncthing left over from an earlier session' });
    debug(`syncthing ${binary.version} at ${binary.path}`);
    const reading = loadOrCreateSecret(deps.kc, target, options.createSecret ?? true);
    // Start-up (parsing the bundle, loading client-node) leaves tens of MB of garbage that
    // V8 would keep while a bulk transfer (the initial copy, a big first sync) adds its own:
    // collected now, while the Secret is on its way.
    await clock.sleep(1);
    const gcStart = performance.now();
    collectNow();
    debug(`collected start-up garbage in ${(performance.now() - gcStart).toFixed(0)} ms`);
    const material = await reading;
    if (!material.guiLocked) {
      emit({ type: 'notice', message: `the sync Secret ${material.secretName} was made by an older kubectl-dev: the sidecar's REST API has no password, so a cookie from it lets any process that reaches it in; end dev mode and start it again for a new Secret` });
    }
    prepareHome(paths, material);
    debug('Secret read');

    // Ignore patterns: .stignore in the local dir (see ignores.ts).
    const plan: IgnorePlan = applyIgnores(localDir, options.ignores ?? []);
    if (plan.notApplied.length > 0) {
      emit({ type: 'notice', message: `your .stignore is used as it is; these patterns are not in it and are synced: ${plan.notApplied.join(', ')}` });
    }
    // The fast path skips what the local syncthing ignores (its platform's rules); the initial copy
    // leaves out what any platform's rules would ignore (copyMatcher).
    const isIgnored = ignoreMatcher(plan.lines, syncthingRules());
    const copyIgnored = copyMatcher(plan.lines);
    // The initial copy decides from the same patterns as syncthing only when they need nothing the matcher lacks.
    const wantSeed = options.initialCopy !== false && deps.env.KUBECTL_DEV_INITIAL_COPY !== 'off' && matcherCovers(plan.lines);
    // While the copy runs, no local index reaches the sidecar (no pulls racing the copy): the
    // local syncthing keeps the sidecar device paused, or, once connected early, the folder.
    let holdSidecar = wantSeed;
    /** The local folder is paused on purpose while the copy runs (connectEarly): its REST API answers "folder is paused". */
    let localFolderPaused = false;
    let copying = false;

    // Port-forwards to the sidecar's two ports.
    let sessionError: string | undefined;
    let sessionErrorAt: string | undefined;
    /** Set once the workload is found out of dev mode: the session then stops itself. */
    let ended: SessionEnd | undefined;
    const noteError = (message: string) => {
      // Once the session is ending itself, why it ends stays the last error.
      if (ended) return;
      sessionError = message;
      sessionErrorAt = new Date(clock.now()).toISOString();
    };
    const portForward = deps.portForward ?? clientNodePortForward(deps.kc);
    const finder = deps.podFinder ?? new LabelPodFinder(deps.kc, target.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(target.kind, target.name)}`);
    const syncForward = new PodPortForwarder({ namespace: target.namespace, podPort: SYNCTHING_SYNC_PORT, finder, portForward, clock, holdMs: 8_000, replayUntilAnswer: true, events: { onError: noteError, onDebug: debug } });
    const apiForward = new PodPortForwarder({ namespace: target.namespace, podPort: SYNCTHING_API_PORT, finder, portForward, clock, holdMs: 2_000, events: { onDebug: debug } });
    const syncPort = await syncForward.listen();
    cleanups.push(() => syncForward.close());
    const apiPort = await apiForward.listen();
    cleanups.push(() => apiForward.close());
    const remote = new SyncthingRest(`http://127.0.0.1:${apiPort}`, material.remoteApiKey, { ...(deps.fetch ? { fetch: deps.fetch } : {}), timeoutMs: 5_000 });

    // The local syncthing.
    const apiKey = randomApiKey();
    const gui = randomGuiCredentials();
    const localGui = await localGuiAddress(paths.dir);
    cleanups.push(localGui.cleanup);
    const local = new SyncthingRest(localGui.url, apiKey, deps.fetch ? { fetch: deps.fetch } : {});
    const useSyncthingWatcher = options.watcher === 'syncthing';
    // Two-way: what the container deletes or changes on the laptop is kept there, outside the
    // synced folder (syncthing's simple versioning: the last 10 versions of each file, kept until
    // removed by hand), so an rm -rf in the container loses nothing for good.
    const versions = options.twoWay ? versionsDir(paths) : undefined;
    if (versions) ensurePrivateDir(versions);
    let twoWayActive = false;
    let watcherFallback = false;
    const writeConfig = () => {
      writePrivateFile(join(paths.home, 'config.xml'), configXml(localConfig({
        localDeviceId: material.localDeviceId,
        sidecarDeviceId: material.sidecarDeviceId,
        apiKey,
        gui,
        localDir,
        guiAddress: localGui.address,
        sidecarAddress: `tcp://127.0.0.1:${syncPort}`,
        type: twoWayActive ? 'sendreceive' : 'sendonly',
        fsWatcherEnabled: useSyncthingWatcher || watcherFallback,
        fsWatcherDelayS: useSyncthingWatcher ? (options.watcherDelayS ?? 1) : 1,
        rescanIntervalS: 3600,
        sidecarPaused: holdSidecar,
        ...(versions ? { versioning: { type: 'simple' as const, path: versions, params: { keep: String(KEPT_VERSIONS), cleanoutDays: '0' } } } : {}),
      })));
    };
    let syncthingUp = false;
    const supervisor = new Supervisor({
      command: binary.path,
      args: serveArgs(paths.home),
      env: serveEnv(deps.env),
      logFile: paths.log,
      clock,
      ...(deps.spawn ? { spawn: deps.spawn } : {}),
      beforeStart: writeConfig,
      onExit: ({ code, signal, restartInMs, lastLines }) => {
        syncthingUp = false;
        const tail = lastLines.slice(-3).join(' | ');
        noteError(`local syncthing exited (${signal ?? `code ${code}`})${restartInMs !== undefined ? `, restarting in ${Math.round(restartInMs / 100) / 10} s` : ''}${tail ? `: ${tail}` : ''}`);
        emit({ type: 'notice', message: sessionError! });
      },
    });
    await supervisor.start();
    cleanups.push(() => supervisor.stop());
    // Before syncthing stops: its connection through a listener held for a dev pod that is gone kept its stop waiting (6.5 s measured).
    cleanups.push(async () => {
      await Promise.all([syncForward.close(), apiForward.close()]);
    });
    debug('local syncthing started');

    let localUpResolve!: () => void;
    const localUp = new Promise<void>((resolve) => (localUpResolve = resolve));
    const seedAbort = new AbortController();
    let seedTask: Promise<void> | undefined;
    if (wantSeed) {
      let resuming: Promise<void> | undefined;
      let deviceResumed = false;
      // Pausing and resuming run one after the other (a resume may come while the early connection is made).
      let sidecarStep: Promise<unknown> = Promise.resolve();
      const serially = (step: () => Promise<void>) => {
        const done = sidecarStep.then(step);
        sidecarStep = done.catch(() => undefined);
        return done;
      };
      const resumeSidecar = () => resuming ??= (async () => {
        holdSidecar = false;
        await Promise.race([localUp, clock.sleep(30_000, seedAbort.signal)]);
        if (seedAbort.signal.aborted) return;
        await serially(async () => {
          if (localFolderPaused) {
            await local.patchFolder(material.folderId, { paused: false }).catch((error: unknown) => noteError(`resuming the local folder: ${(error as Error).message}`));
            localFolderPaused = false;
          }
          if (!deviceResumed) {
            await local.resumeDevice(material.sidecarDeviceId).catch((error: unknown) => noteError(`resuming the sidecar device: ${(error as Error).message}`));
            deviceResumed = true;
          }
        });
      })();
      // A sidecar with syncthing 1.28 or later uses a new connection only a second after it
      // came up (delaysNewConnections). Once the local scan is done, the connection then comes
      // up while the copy still runs: with the local folder paused, syncthing keeps its index
      // back and sends it over the same connection when the folder is resumed (resumeSidecar).
      // The sidecar still gets no index before its last scan runs. Older sidecars connect at
      // once, and resuming the folder costs the local syncthing a rescan: not for them.
      const connectEarly = async () => {
        let reported: string | undefined; // the sidecar may still be starting
        while (reported === undefined) {
          if (resuming || seedAbort.signal.aborted) return;
          reported = await remote.version().then((v) => v.version, () => undefined);
          if (reported === undefined) await clock.sleep(200, seedAbort.signal).catch(() => undefined);
        }
        const sidecarVersion = parseVersion(reported);
        if (!sidecarVersion || !delaysNewConnections(sidecarVersion)) {
          debug(`the sidecar's syncthing ${reported} uses a connection at once: connecting when its last scan runs`);
          return;
        }
        await Promise.race([localUp, clock.sleep(30_000, seedAbort.signal)]);
        // The local folder's first scan has ended when it goes from scanning to idle. Only the
        // events API's default subscription keeps what happened since syncthing started (one
        // filtered by type starts at its first request). A scan that fails (an error state)
        // never gets here: the device is resumed with the folder, as without this.
        for (let since = 0, done = false; !done;) {
          if (resuming || seedAbort.signal.aborted) return;
          let events: SyncthingEvent[];
          try {
            events = await local.events(since, [], 5);
          } catch {
            // A long poll can end without an answer (seen right after start-up): ask again.
            await clock.sleep(100, seedAbort.signal).catch(() => undefined);
            continue;
          }
          for (const event of events) {
            since = Math.max(since, event.id);
            const change = event.data as { folder?: string; from?: string; to?: string };
            done ||= event.type === 'StateChanged' && change.folder === material.folderId && change.from === 'scanning' && change.to === 'idle';
          }
        }
        await serially(async () => {
          if (resuming || seedAbort.signal.aborted) return;
          localFolderPaused = true; // before the call: whatever happens, resumeSidecar unpauses
          await local.patchFolder(material.folderId, { paused: true });
          await local.resumeDevice(material.sidecarDeviceId);
          deviceResumed = true;
          debug('local scan done: connecting to the sidecar, the local folder paused until the sidecar\'s last scan runs');
        });
      };
      seedTask = (async () => {
        void connectEarly().catch((error: unknown) => debug(`connecting early: ${(error as Error).message}`));
        try {
          await initialCopy({
            remote, folderId: material.folderId, finder, exec: deps.exec ?? clientNodeExec(deps.kc), namespace: target.namespace,
            workdir: material.workdir, localDir, isIgnored: copyIgnored, clock, signal: seedAbort.signal, debug,
            notice: (message) => emit({ type: 'notice', message }),
            copying: (on) => (copying = on),
            finalScanRunning: () => void resumeSidecar(),
          });
        } finally {
          copying = false;
          await resumeSidecar();
        }
      })();
      cleanups.push(async () => {
        seedAbort.abort();
        await seedTask?.catch(() => undefined);
      });
    }

    // Wait for its REST API.
    const upDeadline = clock.now() + 30_000;
    for (;;) {
      try {
        await local.ping();
        syncthingUp = true;
        localUpResolve();
        break;
      } catch {
        if (clock.now() > upDeadline) {
          throw new DevError('SYNCTHING_FAILED', `the local syncthing (${binary.path} ${binary.version}) did not start: ${supervisor.lastLines().slice(-5).join(' | ') || 'no output'}`,
            `see ${paths.log}; check that ${paths.home} is writable and that syncthing runs on its own (${binary.path} --version).`);
        }
        await clock.sleep(100);
      }
    }

    // Fast path.
    let fast: FastPath | undefined;
    const enableWatcherFallback = async (why: string) => {
      if (watcherFallback) return;
      watcherFallback = true;
      emit({ type: 'notice', message: `${why}; using syncthing's own watcher (about 1 s per change) instead` });
      try {
        await local.patchFolder(material.folderId, { fsWatcherEnabled: true, fsWatcherDelayS: 1 });
      } catch (error) {
        noteError(`turning on syncthing's watcher: ${(error as Error).message}`);
      }
    };
    if (!useSyncthingWatcher) {
      fast = new FastPath({
        root: localDir,
        isIgnored,
        scan: async (subs) => {
          // Paused on purpose during the initial copy (connectEarly): the scan waits for the resume.
          while (localFolderPaused && !seedAbort.signal.aborted) await clock.sleep(20);
          await local.scan(material.folderId, subs);
        },
        onError: (message) => {
          if (fast?.failed) void enableWatcherFallback(message);
          else noteError(message);
        },
      });
      fast.start();
      cleanups.push(() => fast?.close());
      if (fast.failed) await enableWatcherFallback(fast.failed);
    }

    // Monitor: status, session.json, reconnects, the sidecar's settings.
    const startedAt = new Date(clock.now()).toISOString();
    let current: SyncStatus = { state: 'starting', connected: false, errors: [] };
    let remoteReadyFor: string | undefined; // pod whose sidecar got our ignores / mode
    let watcherCheckedFor: string | undefined; // pod whose sidecar's watcher is known to be on
    let disconnectedSince: number | undefined = clock.now();
    let lastPoke = 0;
    let lastPokedPod: string | undefined;
    let apiDropped = false;
    let lastWrite = 0;
    const stopSignal = new AbortController();

    const publish = (status: SyncStatus) => {
      const changed = status.state !== current.state || status.connected !== current.connected || status.errors.join() !== current.errors.join() ||
        status.lastError !== current.lastError || status.pod !== current.pod || status.completion !== current.completion;
      current = status;
      if (changed) emit({ type: 'state', status });
      if (changed || clock.now() - lastWrite > 5_000) {
        lastWrite = clock.now();
        const info: SessionInfo = {
          pid: process.pid,
          ...(supervisor.pid !== undefined ? { syncthingPid: supervisor.pid } : {}),
          namespace: target.namespace,
          kind: target.kind,
          name: target.name,
          localDir,
          twoWay: options.twoWay === true,
          ...(versions ? { versionsDir: versions } : {}),
          folderId: material.folderId,
          localDeviceId: material.localDeviceId,
          sidecarDeviceId: material.sidecarDeviceId,
          localApi: { url: local.baseUrl, apiKey },
          remoteApi: { url: remote.baseUrl, apiKey: material.remoteApiKey },
          startedAt,
          updatedAt: new Date(clock.now()).toISOString(),
          state: status.state,
          connected: status.connected,
          ...(status.pod !== undefined ? { pod: status.pod } : {}),
          ...(status.lastError !== undefined ? { lastError: status.lastError } : {}),
          ...(status.lastErrorAt !== undefined ? { lastErrorAt: status.lastErrorAt } : {}),
          ...(ended ? { ended } : {}),
        };
        try {
          writeSession(paths.session, info);
        } catch {
          /* the state dir vanished: the status is still in memory */
        }
      }
    };

    /** The sidecar's side of things, once per dev pod: ignore patterns, and two-way mode after the initial sync. */
    let twoWayPod: string | undefined; // the dev pod whose sidecar was switched to two-way
    let lastTwoWayCheck = 0;
    const setUpRemote = async (pod: string, snapIdle: boolean) => {
      // A restarted sidecar container reads its config from the Secret again (receive-only): check now and then.
      if (options.twoWay && twoWayPod === pod && clock.now() - lastTwoWayCheck > 10_000) {
        lastTwoWayCheck = clock.now();
        if ((await remote.getFolder(material.folderId)).type !== 'sendreceive') twoWayPod = undefined;
      }
      // The sidecar's watcher (off while an initial copy ran, or left off by a session that
      // died): on once the sidecar is in sync. Turning it on restarts the folder, which
      // would interrupt a pull; once in sync that costs only a rescan.
      if (snapIdle && watcherCheckedFor !== pod) {
        if (await ensureSidecarWatcher(remote, material.folderId)) debug('turned the sidecar\'s watcher on');
        watcherCheckedFor = pod;
      }
      if (remoteReadyFor === pod && (!options.twoWay || twoWayPod === pod)) return;
      // The local .stignore as written (so the sidecar's reads the same); its expansion when it includes other files.
      const localIgnores = await local.getIgnores(material.folderId);
      const lines = localIgnores.ignore ?? [];
      const wanted = lines.some((l) => l.trim().startsWith('#include')) ? (localIgnores.expanded ?? []) : lines;
      const have = (await remote.getIgnores(material.folderId)).ignore ?? [];
      if (JSON.stringify(wanted) !== JSON.stringify(have)) await remote.setIgnores(material.folderId, wanted);
      remoteReadyFor = pod;
      if (options.twoWay && twoWayPod !== pod && snapIdle) {
        // The laptop wins the initial sync (with every new dev pod, whose sidecar starts
        // receive-only again): whatever the container changed is reverted first.
        const status = await remote.dbStatus(material.folderId);
        if ((status.receiveOnlyTotalItems ?? 0) > 0) await remote.revert(material.folderId);
        await remote.patchFolder(material.folderId, { type: 'sendreceive' });
        if (!twoWayActive) await local.patchFolder(material.folderId, { type: 'sendreceive' });
        twoWayActive = true;
        twoWayPod = pod;
        emit({ type: 'notice', message: `initial sync done; changes in the dev container now come back too (two-way). What they delete or replace on this machine is kept in ${versions} (the last ${KEPT_VERSIONS} versions of each file, named file~YYYYMMDD-HHMMSS)` });
      }
    };

    const tick = async (): Promise<SyncStatus> => {
      if (localFolderPaused) {
        // Paused on purpose while the copy runs: nothing to read from the local folder yet.
        const status: SyncStatus = { ...current, state: 'syncing', errors: [] };
        publish(status);
        return status;
      }
      const snap = await snapshot({ local, remote, folderId: material.folderId, sidecarDeviceId: material.sidecarDeviceId, localDeviceId: material.localDeviceId, ...(sessionError !== undefined ? { sessionError } : {}) });
      if (snap.localUp) syncthingUp = true;
      const summary = summarize(snap);
      const pod = syncForward.currentPod;
      if (snap.connected) {
        disconnectedSince = undefined;
        apiDropped = false;
        // Connected early, the initial copy still running: the sidecar is set up once it is resumed.
        if (pod !== undefined && !holdSidecar) {
          try {
            await setUpRemote(pod, summary.state === 'idle');
          } catch (error) {
            noteError(`configuring the sidecar: ${(error as Error).message}`);
          }
        }
      } else if (holdSidecar) {
        // Not connected on purpose (the initial copy runs): nothing to recover. Dropping the
        // REST connections here would cut the sidecar's scans during the copy short on this
        // side only, and leave them running there.
        disconnectedSince = undefined;
      } else if (snap.localUp) {
        disconnectedSince ??= clock.now();
        // Not connected: look for the (new) dev pod, and make syncthing dial at once when one
        // appears (a connection waits in the port-forward listener while its sidecar starts).
        // syncthing otherwise redials every 5 s or more.
        if (clock.now() - disconnectedSince > 500) {
          syncForward.invalidate();
          apiForward.invalidate();
          const found = await finder.find();
          // Connections to a pod that is not the dev pod any more go.
          if (found && syncForward.activeStreams > 0 && syncForward.currentPod !== found.name) {
            debug(`dropping connections to ${syncForward.currentPod}: the dev pod is now ${found.name}`);
            syncForward.dropConnections();
          }
          if (!apiDropped) {
            // Keep-alive REST connections to a sidecar that is gone would hang until they time out.
            apiDropped = true;
            apiForward.dropConnections();
          }
          if (found && !holdSidecar && syncForward.activeStreams === 0 && (found.name !== lastPokedPod || clock.now() - lastPoke > 10_000)) {
            lastPoke = clock.now();
            lastPokedPod = found.name;
            debug(`not connected; dev pod ${found.name} found: asking syncthing to dial now`);
            try {
              await local.pauseDevice(material.sidecarDeviceId);
              await local.resumeDevice(material.sidecarDeviceId);
            } catch {
              /* it dials on its own within seconds anyway */
            }
          } else if (!found && finder.lastProblem) {
            noteError(finder.lastProblem);
          }
        }
      }
      const status: SyncStatus = {
        ...summary,
        // Not connected on purpose: the initial copy is filling the container.
        ...(copying && summary.state === 'connecting' ? { state: 'syncing' as const } : {}),
        ...(pod !== undefined ? { pod } : {}),
        ...(sessionError !== undefined ? { lastError: sessionError } : {}),
        ...(sessionErrorAt !== undefined ? { lastErrorAt: sessionErrorAt } : {}),
      };
      if (summary.errors.length > 0) {
        status.lastError = summary.errors[0];
        status.lastErrorAt = new Date(clock.now()).toISOString();
      }
      if (status.state !== current.state) debug(`state ${status.state}${snap.connected ? ' (connected)' : ''}`);
      publish(status);
      return status;
    };

    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    let stopping: Promise<void> | undefined;
    const stop = () => {
      stopping ??= (async () => {
        await cleanup();
        dropClosingWebSockets();
        publish({ ...current, state: 'stopped', connected: false, ...(ended ? { lastError: sessionError!, lastErrorAt: sessionErrorAt! } : {}) });
        resolveDone();
      })();
      return stopping;
    };

    // Still in dev mode? Asked beside the status, never awaited by it (a slow API server must not hold the status back).
    const cluster = deps.cluster ?? clusterApi(deps.kc, PRESENCE_TIMEOUT_MS);
    const workloadRef = { apiVersion: canonicalKind(target.kind).apiVersion, kind: target.kind, name: target.name, namespace: target.namespace };
    const secretRef = { apiVersion: 'v1', kind: 'Secret', name: material.secretName, namespace: target.namespace };
    const seen = (read: Promise<KubeObject | undefined>): Promise<Seen> =>
      read.then((object) => (object ? { object } : { absent: true as const }), (error: unknown) => ({ failed: (error as Error).message }));
    let secretMissing = 0;
    let lastPresence: number | undefined;
    let presence: Promise<void> | undefined;
    const checkPresence = async () => {
      const [workload, secret] = await Promise.all([seen(cluster.get(workloadRef)), seen(cluster.get(secretRef))]);
      if (stopSignal.signal.aborted) return;
      const verdict = presenceVerdict({
        kind: target.kind, name: target.name, namespace: target.namespace, secretName: material.secretName,
        workload, secret, localCertPem: material.localCertPem, secretMissing,
      });
      secretMissing = verdict.secretMissing;
      if (verdict.unknown) debug(`dev mode check: ${verdict.unknown}`);
      if (!verdict.end) return;
      const at = new Date(clock.now()).toISOString();
      debug(`ending the session: ${verdict.end.reason}`);
      sessionError = `sync ended: ${verdict.end.reason}`;
      sessionErrorAt = at;
      ended = { ...verdict.end, at };
      // Recorded before anything stops, so that status never shows this session as running without the reason.
      publish({ ...current, lastError: sessionError, lastErrorAt: at });
      void stop();
    };

    let loopDone: Promise<void> = Promise.resolve();
    const loop = async () => {
      while (!stopSignal.signal.aborted) {
        if (presence === undefined && (lastPresence === undefined || clock.now() - lastPresence >= (deps.presenceIntervalMs ?? PRESENCE_INTERVAL_MS))) {
          lastPresence = clock.now();
          presence = checkPresence()
            .catch((error: unknown) => debug(`dev mode check: ${(error as Error).message}`))
            .finally(() => (presence = undefined));
        }
        try {
          await tick();
        } catch (error) {
          noteError(`status: ${(error as Error).message}`);
        }
        await clock.sleep(deps.monitorIntervalMs ?? 1_000, stopSignal.signal);
      }
    };
    loopDone = loop();
    cleanups.push(async () => {
      stopSignal.abort();
      await loopDone;
    });
    const handle: SyncHandle = {
      target,
      paths,
      material,
      local,
      remote,
      binary,
      status: () => current,
      refresh: () => tick(),
      waitInSync: async (timeoutMs = 120_000) => {
        let reached: SyncStatus;
        try {
          reached = await waitInSync({
            local, remote, folderId: material.folderId, sidecarDeviceId: material.sidecarDeviceId, localDeviceId: material.localDeviceId, clock, timeoutMs,
            sessionError: () => sessionError ?? syncForward.lastError, held: () => localFolderPaused, debug,
            ended: () => (ended ? sessionEndedError(ended, target.kind, target.name, target.namespace) : undefined),
          });
        } catch (error) {
          // The status the caller sees next is the one that ended the wait.
          if (!ended) await tick().catch(() => undefined);
          throw error;
        }
        debug('in sync');
        // The state that ended the wait, published as it is (a fresh look would cost a round
        // of REST calls through the port-forward, and the monitor takes one within a second).
        const pod = syncForward.currentPod;
        publish({ ...reached, ...(pod !== undefined ? { pod } : {}), ...(current.lastError !== undefined ? { lastError: current.lastError } : {}),
          ...(current.lastErrorAt !== undefined ? { lastErrorAt: current.lastErrorAt } : {}) });
        return current;
      },
      stop,
      done,
      ended: () => ended,
      stats: () => ({
        streams: syncForward.streams,
        syncthingRestarts: supervisor.restarts,
        scans: fast?.scans ?? 0,
        watchedDirs: fast?.watched ?? 0,
        pod: syncForward.currentPod,
      }),
    };
    void syncthingUp;
    return handle;
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** True when `ignoreMatcher` reads every line as syncthing does (no #include or other directives). */
export function matcherCovers(lines: readonly string[]): boolean {
  return lines.every((raw) => {
    const line = raw.trim();
    return !line.startsWith('#') || line === '#';
  });
}

/**
 * The initial copy (seed.ts): only into an empty sidecar folder, then a scan of the
 * sidecar so its index has what arrived. A failed copy is undone, reported as a
 * notice, and leaves everything to syncthing.
 */
async function initialCopy(o: {
  remote: SyncthingRest; folderId: string; finder: PodFinder; exec: ExecFn; namespace: string; workdir: string;
  localDir: string; isIgnored: (rel: string) => boolean; clock: Clock; signal: AbortSignal;
  debug: (message: string) => void; notice: (message: string) => void;
  /** Called when the copy starts: the session shows "syncing" until the sidecar is resumed. */
  copying: (on: boolean) => void;
  /** The sidecar's scan after a complete copy is under way: connecting now is safe (see there). */
  finalScanRunning?: () => void;
}): Promise<void> {
  // No dev pod: nothing to copy into (and nothing to connect to); syncthing waits for one as usual.
  const pod = await o.finder.find();
  if (!pod || o.signal.aborted) {
    o.debug('initial copy skipped: no ready dev pod');
    return;
  }
  // The tree is listed while the sidecar is asked about its folder, and, once that is
  // known to be empty, while the copy's exec opens: both wait on the network.
  const listing = new AbortController();
  const planned = listAndPlan(o.localDir, o.isIgnored, AbortSignal.any([o.signal, listing.signal]));
  planned.catch(() => undefined);
  if (!(await sidecarFolderIsEmpty(o, pod.name))) {
    listing.abort();
    return;
  }
  // The sidecar's watcher would follow every file tar writes and scan files still
  // being written (measured: ~0.8 s of CPU for 115 MB on two cores): it is off
  // while the copy runs, and until the sidecar is in sync (setUpRemote turns it on;
  // a session that dies before leaves it off, and the next one turns it on). Asked
  // for now, so that the sidecar restarts its folder while the tree is listed here.
  const watcherOff = o.remote.patchFolder(o.folderId, { fsWatcherEnabled: false })
    .catch((error: unknown) => o.debug(`the sidecar's watcher stays on during the copy: ${(error as Error).message}`));
  const target = { exec: o.exec, namespace: o.namespace, pod: pod.name, container: SIDECAR_CONTAINER, workdir: o.workdir };
  let t0 = o.clock.now();
  const toSend = (async () => {
    const plan = await planned;
    o.debug(`initial copy: ${plan.entries.length} entries listed, ${plan.files} files (${(plan.bytes / 1e6).toFixed(1)} MB) planned`);
    if (plan.files === 0) throw new NothingToCopy();
    await watcherOff;
    t0 = o.clock.now();
    o.copying(true);
    o.debug(`initial copy of ${plan.files} files starts`);
    return plan;
  })();
  // While tar writes, the sidecar scans what has arrived so far, one scan after the
  // other, so that little is left for the scan after the copy: the sidecar runs at low
  // priority (setLowPriority), so these scans only take CPU the copy leaves over. A file
  // caught half written is hashed again by the next scan (its size and mtime changed).
  const copyEnded = new AbortController();
  const scansDuringCopy = (async () => {
    let scans = 0;
    // Calls that got no answer: their scan may still be running in the sidecar. (An
    // answer, even an error such as "folder is not running" while the folder restarts
    // after the watcher change, means that the scan asked for has ended or never began.)
    let unanswered = 0;
    if (!(await toSend.then(() => true, () => false))) return { scans, unanswered };
    await o.clock.sleep(SCAN_DURING_COPY_MS, copyEnded.signal);
    while (!copyEnded.signal.aborted && !o.signal.aborted) {
      await o.remote.scan(o.folderId).then(() => scans++, (error: unknown) => {
        if (!(error instanceof RestError && error.status !== undefined)) unanswered++;
        o.debug(`initial copy: a scan of the sidecar failed: ${(error as Error).message}`);
      });
      await o.clock.sleep(SCAN_DURING_COPY_MS, copyEnded.signal);
    }
    return { scans, unanswered };
  })();
  let copied = true;
  /** Every scan asked for during the copy has ended: the next scan to run is the one asked for next. */
  let settled = false;
  try {
    const done = await seedContainer({ ...target, root: o.localDir, plan: toSend, signal: o.signal, debug: o.debug });
    copyEnded.abort();
    const during = await scansDuringCopy;
    settled = during.scans > 0 && during.unanswered === 0;
    o.debug(`initial copy: ${done.files} files, ${(done.bytes / 1e6).toFixed(1)} MB in ${o.clock.now() - t0} ms (${during.scans} scans of the sidecar meanwhile${during.unanswered > 0 ? `, ${during.unanswered} unanswered` : ''})`);
    // Files edited while the copy ran went in with their planned size, maybe wrong:
    // removed again before the sidecar records them, syncthing sends them.
    if (done.changed.length > 0) {
      const removed = await removeInContainer(target, done.changed);
      o.debug(`initial copy: ${done.changed.length} file(s) changed while being copied, ${removed ? 'removed again' : 'could not be removed'}`);
    }
  } catch (error) {
    copyEnded.abort();
    await scansDuringCopy;
    if (error instanceof NothingToCopy) {
      await watcherOff;
      return;
    }
    const plan = await toSend.catch(() => undefined);
    // Stopped, or the listing failed, before anything was sent: nothing to undo.
    if (!plan) return;
    copied = false;
    const undone = await removeInContainer(target, topLevel(plan.entries));
    o.notice(`the initial copy of ${plan.files} files with tar did not complete (${(error as Error).message}); syncthing copies them instead`);
    // Not undone (the pod went away?): syncthing sorts out what is there after its scan.
    if (!undone) o.debug('initial copy: could not remove what was copied');
  }
  if (o.signal.aborted) return;
  // The sidecar's index gets what arrived; once connected, equal files are only recorded.
  // No pull may run before this scan has recorded the copy: it would find files on disk
  // that the sidecar's index lacks, and fetch them over the network or retry them much
  // later. The watcher stays off until the sidecar is in sync (setUpRemote).
  const t1 = o.clock.now();
  let scanEnded = false;
  const scan = (async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        await o.remote.scan(o.folderId);
        break;
      } catch (error) {
        // "folder is not running": a very short copy can end before the folder, restarted
        // when its watcher was turned off, has started again.
        if (attempt >= 50 || o.signal.aborted) {
          o.debug(`scanning the sidecar after the initial copy: ${(error as Error).message}`);
          break;
        }
        await o.clock.sleep(100, o.signal).catch(() => undefined);
      }
    }
    scanEnded = true;
  })();
  if (copied && settled && o.finalScanRunning) {
    // syncthing runs a folder's scans and pulls one after the other in one loop. With
    // every earlier scan ended (their calls all returned; the watcher is off), the scan
    // the sidecar shows now is this one, and a pull that the laptop's index schedules
    // waits for it: connecting now overlaps the connection and the index exchange with
    // the scan. Otherwise the connection waits for the scan's end, as before.
    while (!scanEnded && !o.signal.aborted && o.clock.now() - t1 < 2_000) {
      const state = (await o.remote.dbStatus(o.folderId).catch(() => undefined))?.state;
      if (state === 'scanning') {
        o.debug(`initial copy: the sidecar is scanning (after ${o.clock.now() - t1} ms); connecting`);
        o.finalScanRunning();
        break;
      }
      await o.clock.sleep(20, o.signal).catch(() => undefined);
    }
  }
  await scan;
  o.debug(`initial copy: the sidecar's scan took ${o.clock.now() - t1} ms`);
  if (!copied) {
    // Anything of the failed copy that the sidecar recorded before it was removed
    // would count as a change made in the container (a receive-only folder keeps
    // those, so a removed file would never come back): forget such changes.
    const after = await o.remote.dbStatus(o.folderId).catch(() => undefined);
    if ((after?.receiveOnlyTotalItems ?? 0) > 0) {
      await o.remote.revert(o.folderId).catch((error: unknown) => o.debug(`reverting the sidecar after a failed copy: ${(error as Error).message}`));
    }
  }
}

/** How often the monitor asks whether the workload is still in dev mode (two GETs). */
const PRESENCE_INTERVAL_MS = 5_000;
/** A check without an answer within this long tells nothing; the next one asks again. */
const PRESENCE_TIMEOUT_MS = 10_000;

/** Pause between the sidecar's scans while the initial copy runs (and before the first). */
const SCAN_DURING_COPY_MS = 250;

/** The listing found nothing to copy (only directories, or nothing at all). */
class NothingToCopy extends Error {}

/**
 * Whether the sidecar's folder is empty, so the copy may go in. `start` hands over as
 * soon as the pod is ready: its sidecar's syncthing may need a few more seconds, and
 * a new sidecar may still be scanning its (empty) folder.
 */
async function sidecarFolderIsEmpty(o: { remote: SyncthingRest; folderId: string; clock: Clock; signal: AbortSignal; debug: (message: string) => void }, pod: string): Promise<boolean> {
  let status;
  const deadline = o.clock.now() + 6_000;
  for (;;) {
    try {
      status = await o.remote.dbStatus(o.folderId);
      if (status.state === 'idle') break;
    } catch (error) {
      status = undefined;
      if (o.clock.now() > deadline) {
        o.debug(`initial copy skipped: the sidecar's REST API did not answer (${(error as Error).message})`);
        return false;
      }
    }
    if (o.clock.now() > deadline || o.signal.aborted) break;
    await o.clock.sleep(200, o.signal);
  }
  if (!status || o.signal.aborted) return false;
  if (status.state !== 'idle' || status.localFiles > 0 || (status.localDirectories ?? 0) > 0 || status.globalFiles > 0 || (status.globalDirectories ?? 0) > 0) {
    o.debug(`initial copy skipped: the sidecar's folder is ${status.state}, ${status.localFiles} local / ${status.globalFiles} global files`);
    return false;
  }
  o.debug(`the sidecar's folder is empty (dev pod ${pod})`);
  return true;
}

/** Turns the sidecar's watcher on when it is off (as the initial copy leaves it if its session dies). */
export async function ensureSidecarWatcher(remote: Pick<SyncthingRest, 'getFolder' | 'patchFolder'>, folderId: string): Promise<boolean> {
  const folder = await remote.getFolder(folderId);
  if (folder.fsWatcherEnabled !== false) return false;
  await remote.patchFolder(folderId, { fsWatcherEnabled: true });
  return true;
}
