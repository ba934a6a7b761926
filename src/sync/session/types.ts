// The sync session's public types: what a caller passes in (options, deps), what it
// gets back (the handle) and the events it hears.

import type { KubeConfig } from '@kubernetes/client-node';
import type { ClusterApi } from '../../kube/api.ts';
import type { SyncthingBinary } from '../binary.ts';
import type { PodFinder, PortForwardFn } from '../../kube/port-forward.ts';
import type { Clock, Spawner } from '../process.ts';
import type { FetchLike, SyncthingRest } from '../rest.ts';
import type { ExecFn } from '../../kube/exec.ts';
import type { SyncMaterial } from '../secret.ts';
import type { SessionEnd, StatePaths, SyncTarget } from '../state.ts';
import type { SyncStatus } from '../status.ts';
import type { InitialStrategy } from '../initial.ts';

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
  /** `--initial`: what the first sync does when the laptop and the container both have files (default local: the laptop wins). */
  initial?: InitialStrategy;
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
