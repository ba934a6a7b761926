// `kubectl dev run` put together: the workload's dev settings from the cluster, the
// sync (the session already running for the workload, or one started here), the app
// port forwards, and the runner. The CLI calls startRun and stops the handle on Ctrl-C.

import type { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { recordedSettings, isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import { workloadLabelValue } from '../core/names.ts';
import type { ForwardSpec } from '../config/forward-spec.ts';
import type { ClusterApi } from '../kube/api.ts';
import { displayRef, workloadObjectRef } from '../live/objects.ts';
import { attachSession, recordedEnd, runSync, syncTargetOf, waitForSession, type SyncEvent } from '../sync/index.ts';
import { sessionEndedError } from '../sync/presence.ts';
import { LabelPodFinder } from '../sync/portforward.ts';
import { isAlive, realClock } from '../sync/process.ts';
import type { SyncthingRest } from '../sync/rest.ts';
import { clientNodeExec } from './exec.ts';
import { describeForwards, openForwards, type Forwards } from './forwards.ts';
import { Runner } from './runner.ts';
import { pidFileOf } from './scripts.ts';
import { dropClosingWebSockets } from '../kube/websocket.ts';

export interface RunRequest {
  kind: WorkloadKind;
  name: string;
  namespace: string;
  /** The command (argv; a command line is ['/bin/sh', '-c', line]). Undefined: forwards and sync only. */
  command?: readonly string[];
  restart: boolean;
  restartOn?: readonly string[];
  forwards: readonly ForwardSpec[];
  addresses: readonly string[];
  /** Sync settings, used when no sync runs for the workload yet. */
  sync: {
    localDir: string;
    twoWay: boolean;
    syncthingPath?: string;
    ignores: readonly string[];
    watcher?: 'syncthing';
    watcherDelayS?: number;
  };
  timeoutMs: number;
}

export interface RunIO {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** kubectl-dev's own lines (forwards, sync state, restarts). */
  say(line: string): void;
  onSyncEvent?(event: SyncEvent): void;
}

export interface RunHandle {
  readonly forwards: Forwards;
  readonly runner: Runner | undefined;
  /** Resolves when the sync run here stops on its own (never, for an attached one, until stop()). */
  readonly done: Promise<void>;
  /** Why the sync run here ended itself (its workload left dev mode elsewhere, or was deleted); undefined otherwise. */
  ended(): DevError | undefined;
  stop(): Promise<void>;
}

export async function startRun(request: RunRequest, io: RunIO, kc: KubeConfig, api: ClusterApi): Promise<RunHandle> {
  const ref = { kind: request.kind, name: request.name, namespace: request.namespace };
  const workload = await api.get(workloadObjectRef(ref));
  if (!workload) throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
  const settings = recordedSettings(workload);
  if (!isInDevMode(workload) || !settings) {
    throw new DevError('NOT_FOUND', `${displayRef(ref)} is not in dev mode`, `start it first: kubectl dev start ${displayRef(ref)} -n ${ref.namespace}${request.command ? ' --run …' : ''}`);
  }

  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    dropClosingWebSockets();
  };
  try {
    // Forwards first: a busy local port stops the command before anything starts.
    const finder = new LabelPodFinder(kc, ref.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(ref.kind.kind, ref.name)}`);
    const forwards = await openForwards({
      kc, namespace: ref.namespace, finder, specs: request.forwards, addresses: request.addresses,
      onError: (message) => io.say(`forward: ${message}`),
      ...(io.env.KUBECTL_DEV_DEBUG ? { onDebug: (message: string) => io.say(`debug ${(performance.now() / 1000).toFixed(3)}: ${message}`) } : {}),
    });
    cleanups.push(() => forwards.close());
    for (const line of describeForwards(forwards.open)) io.say(line);

    // The sync: join the session that runs for the workload (another terminal, --wait), or run one here.
    const target = syncTargetOf(kc, ref.namespace, ref.kind.kind, ref.name);
    const attached = attachSession(target, io.env);
    let sync: { local: SyncthingRest; remote: SyncthingRest | undefined; folderId: string; sidecarDeviceId: string; waitInSync(ms: number): Promise<void>; done: Promise<void>; ended(): DevError | undefined };
    if (attached) {
      io.say(`using the sync already running for ${displayRef(ref)} (pid ${attached.pid}, ${attached.session.localDir})`);
      sync = {
        local: attached.local, remote: attached.remote, folderId: attached.session.folderId, sidecarDeviceId: attached.session.sidecarDeviceId,
        waitInSync: async (ms) => void await waitForSession(target, io.env, { timeoutMs: ms }),
        // That session ending (kubectl dev end, Ctrl-C in its terminal) ends this run too.
        done: new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            if (isAlive(attached.pid)) return;
            clearInterval(timer);
            io.say(`the sync session (pid ${attached.pid}) has ended; stopping`);
            resolve();
          }, 1_000);
          timer.unref();
          cleanups.push(async () => clearInterval(timer));
        }),
        // An attached session that ended itself wrote why into its session file.
        ended: () => recordedEnd(target, io.env),
      };
    } else {
      const handle = await runSync({
        namespace: ref.namespace, kind: ref.kind.kind, name: ref.name, localDir: request.sync.localDir, twoWay: request.sync.twoWay,
        ignores: request.sync.ignores,
        ...(request.sync.syncthingPath !== undefined ? { syncthingPath: request.sync.syncthingPath } : {}),
        ...(request.sync.watcher ? { watcher: request.sync.watcher, watcherDelayS: request.sync.watcherDelayS ?? 1 } : {}),
      }, { kc, env: io.env, ...(io.onSyncEvent ? { onEvent: io.onSyncEvent } : {}) });
      cleanups.push(() => handle.stop());
      io.say(`syncing ${request.sync.localDir} → ${displayRef(ref)}:${handle.material.workdir} (${request.sync.twoWay ? 'two-way after the initial sync' : 'send-only'}; syncthing ${handle.binary.version})`);
      sync = { local: handle.local, remote: handle.remote, folderId: handle.material.folderId, sidecarDeviceId: handle.material.sidecarDeviceId, waitInSync: async (ms) => void await handle.waitInSync(ms), done: handle.done,
        ended: () => { const end = handle.ended(); return end ? sessionEndedError(end, ref.kind.kind, ref.name, ref.namespace) : undefined; } };
    }

    let runner: Runner | undefined;
    if (request.command) {
      if (request.restart && !sync.remote) {
        throw new DevError('SYNCTHING_FAILED', 'the running sync session does not publish the sidecar\'s REST address, so run cannot see changes land',
          `stop it (kubectl dev end, or Ctrl-C in its terminal) and run again: kubectl dev run ${displayRef(ref)} starts its own sync.`);
      }
      const remote = sync.remote!;
      runner = new Runner({
        command: request.command,
        container: settings.devContainer,
        workdir: settings.workdir,
        pidFile: pidFileOf(`${ref.namespace}.${workloadLabelValue(ref.kind.kind, ref.name)}.${settings.devContainer}`),
        localDir: attached?.session.localDir ?? request.sync.localDir,
        folderId: sync.folderId,
        restart: request.restart,
        ...(request.restartOn && request.restartOn.length > 0 ? { restartOn: request.restartOn } : {}),
        prefix: `[${settings.devContainer}] `,
      }, {
        exec: clientNodeExec(kc, ref.namespace),
        findPod: async () => (await finder.find())?.name,
        waitInSync: sync.waitInSync,
        sidecar: remote,
        local: sync.local,
        clock: realClock,
        stdout: io.stdout,
        stderr: io.stderr,
        say: (line) => io.say(line),
        remoteNeeds: async () => {
          const c = await sync.local.completion(sync.folderId, sync.sidecarDeviceId);
          return c.needItems + c.needDeletes;
        },
      });
      const started = runner;
      cleanups.push(() => started.stop());
      await runner.start(request.timeoutMs);
    }
    return { forwards, runner, done: sync.done, ended: sync.ended, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
