// `kubectl dev run` put together: the workload's dev settings from the cluster, the
// sync (the session already running for the workload, or one started here), the app
// port forwards, and the runner with its real edges. The CLI calls startRun and stops
// the handle on Ctrl-C.

import type { Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { recordedSettings, isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import { WORKLOAD_LABEL } from '../core/marks.ts';
import { workloadLabelValue } from '../core/names.ts';
import type { ForwardSpec, ReverseSpec } from '../config/forward-spec.ts';
import type { ClusterApi } from '../kube/api.ts';
import { displayRef, workloadObjectRef } from '../live/objects.ts';
import type { SyncEvent } from '../sync/index.ts';
import { LabelPodFinder } from '../sync/dev-pod-finder.ts';
import { realClock } from '../kube/clock.ts';
import { clientNodeExec } from './exec.ts';
import { describeForwards, openForwards, type Forwards } from './forwards.ts';
import { localTree } from './local.ts';
import { Runner } from './runner.ts';
import { pidFileOf } from './scripts.ts';
import { joinOrRunSync, type RunSync, type RunSyncRequest } from './sync.ts';
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
  /** -R/--reverse: the pod's REMOTE ports reach these local ones. */
  reverse?: readonly ReverseSpec[];
  /** Sync settings, used when no sync runs for the workload yet. */
  sync: RunSyncRequest['sync'];
  timeoutMs: number;
  /** Put before every line of the command's output (default: `[CONTAINER] `; `up`: the workload's). */
  prefix?: string;
}

export interface RunIO {
  stdout: Writable;
  stderr: Writable;
  /** Passed on to the sync (where its state lives). */
  env: NodeJS.ProcessEnv;
  /** Report every forward stream attempt (the CLI's KUBECTL_DEV_DEBUG). */
  debug?: boolean;
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

type Ref = { kind: WorkloadKind; name: string; namespace: string };
type DevSettings = NonNullable<ReturnType<typeof recordedSettings>>;

export async function startRun(request: RunRequest, io: RunIO, kc: KubeConfig, api: ClusterApi): Promise<RunHandle> {
  const ref: Ref = { kind: request.kind, name: request.name, namespace: request.namespace };
  const settings = await devSettingsOf(api, ref, request.command !== undefined);
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
    dropClosingWebSockets();
  };
  try {
    // Forwards first: a busy local port stops the command before anything starts.
    const finder = new LabelPodFinder(api, ref.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(ref.kind.kind, ref.name)}`);
    const forwards = await openForwards({
      kc, namespace: ref.namespace, finder, specs: request.forwards, addresses: request.addresses,
      onError: (message) => io.say(`forward: ${message}`),
      ...(io.debug ? { onDebug: (message: string) => io.say(`debug ${(performance.now() / 1000).toFixed(3)}: ${message}`) } : {}),
    });
    cleanups.push(() => forwards.close());
    for (const line of describeForwards(forwards.open)) io.say(line);
    if (request.reverse && request.reverse.length > 0) {
      const { openReverseForwards } = await import('../reverse/index.ts');
      const reverse = await openReverseForwards({
        kc, cluster: api, namespace: ref.namespace, finder, specs: request.reverse, say: io.say,
        ...(io.debug ? { debug: (message: string) => io.say(`debug: ${message}`) } : {}),
      });
      cleanups.push(() => reverse.forwards.close());
      for (const line of reverse.lines) io.say(line);
    }

    const sync = await joinOrRunSync({ ref, sync: request.sync }, {
      env: io.env, say: io.say, ...(io.onSyncEvent ? { onSyncEvent: io.onSyncEvent } : {}), onStop: (fn) => cleanups.push(fn),
    }, kc);
    let runner: Runner | undefined;
    if (request.command) {
      runner = runnerFor(request, request.command, ref, settings, sync, io, { kc, findPod: async () => (await finder.find())?.name });
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

/** The settings `start` recorded on the workload; it must be in dev mode. */
async function devSettingsOf(api: ClusterApi, ref: Ref, withCommand: boolean): Promise<DevSettings> {
  const workload = await api.get(workloadObjectRef(ref));
  if (!workload) throw new DevError('NOT_FOUND', `${displayRef(ref)} not found in namespace ${ref.namespace}`, `check the name and namespace: kubectl get ${ref.kind.resource} -n ${ref.namespace}`);
  const settings = recordedSettings(workload);
  if (!isInDevMode(workload) || !settings) {
    throw new DevError('NOT_FOUND', `${displayRef(ref)} is not in dev mode`, `start it first: kubectl dev start ${displayRef(ref)} -n ${ref.namespace}${withCommand ? ' --run …' : ''}`);
  }
  return settings;
}

/** The runner with its real edges: client-node exec, the dev pod finder, the sync's syncthings, the local tree, the real clock. */
function runnerFor(request: RunRequest, command: readonly string[], ref: Ref, settings: DevSettings, sync: RunSync, io: RunIO,
  edges: { kc: KubeConfig; findPod(): Promise<string | undefined> }): Runner {
  if (request.restart && !sync.remote) {
    throw new DevError('SYNCTHING_FAILED', 'the running sync session does not publish the sidecar\'s REST address, so run cannot see changes land',
      `stop it (kubectl dev end, or Ctrl-C in its terminal) and run again: kubectl dev run ${displayRef(ref)} starts its own sync.`);
  }
  return new Runner({
    command,
    container: settings.devContainer,
    workdir: settings.workdir,
    pidFile: pidFileOf(`${ref.namespace}.${workloadLabelValue(ref.kind.kind, ref.name)}.${settings.devContainer}`),
    folderId: sync.folderId,
    restart: request.restart,
    ...(request.restartOn && request.restartOn.length > 0 ? { restartOn: request.restartOn } : {}),
    prefix: request.prefix ?? `[${settings.devContainer}] `,
  }, {
    exec: clientNodeExec(edges.kc, ref.namespace),
    findPod: edges.findPod,
    waitInSync: sync.waitInSync,
    sidecar: sync.remote!,
    local: sync.local,
    tree: localTree(sync.localDir),
    clock: realClock,
    stdout: io.stdout,
    stderr: io.stderr,
    say: (line) => io.say(line),
    remoteNeeds: async () => {
      const c = await sync.local.completion(sync.folderId, sync.sidecarDeviceId);
      return c.needItems + c.needDeletes;
    },
  });
}
