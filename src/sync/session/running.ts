// The running session: the monitor's tick (snapshot → summarize → publish, the sidecar's
// setup once connected, the search for a new dev pod when not), the presence check that
// ends the session, stop, and the handle the caller gets. With index.ts, the one place that
// wires the parts; Core holds the session's state and routes the parts' events into it.

import type { SyncthingBinary } from '../binary.ts';
import { dropClosingWebSockets } from '../../kube/websocket.ts';
import { clusterApi } from '../../kube/api.ts';
import type { Clock } from '../process.ts';
import { sessionEndedError } from '../presence.ts';
import type { SyncthingRest } from '../rest.ts';
import type { SyncMaterial } from '../secret.ts';
import type { StatePaths, SyncTarget } from '../state.ts';
import { snapshot, summarize, waitInSync, type SyncStatus } from '../status.ts';
import type { FastPath } from '../watch.ts';
import { canonicalKind } from '../target.ts';
import { KEPT_VERSIONS, type LocalSyncthing } from './local-syncthing.ts';
import { checkPresence, monitorLoop, Publisher, sessionInfoOf, statusOf, type SessionFacts } from './monitor.ts';
import { setUpSidecar } from './sidecar.ts';
import { afterSnapshot, dropPlan, initialState, localFolderPaused, pokePlan, transition, type SessionEvent, type SessionState } from './state.ts';
import { lookForDevPod, type Tunnels } from './tunnels.ts';
import type { RunSyncOptions, SyncDeps, SyncEvent, SyncHandle } from './types.ts';

/** How often the monitor asks whether the workload is still in dev mode (two GETs). */
const PRESENCE_INTERVAL_MS = 5_000;
/** A check without an answer within this long tells nothing; the next one asks again. */
const PRESENCE_TIMEOUT_MS = 10_000;

/** The session's state and what every part reports to: events, errors, notices, cleanups. */
export class Core {
  state: SessionState = initialState(false);
  private readonly cleanups: Array<() => Promise<void> | void> = [];

  readonly clock: Clock;
  readonly debug: (message: string) => void;
  private readonly onEvent: ((event: SyncEvent) => void) | undefined;

  constructor(clock: Clock, debug: (message: string) => void, onEvent: ((event: SyncEvent) => void) | undefined) {
    this.clock = clock;
    this.debug = debug;
    this.onEvent = onEvent;
  }

  dispatch = (event: SessionEvent): void => {
    this.state = transition(this.state, event);
  };

  /** The session's last error (kept while the session ends itself: why it ends stays). */
  fail = (message: string): void => {
    this.dispatch({ type: 'failed', message, at: new Date(this.clock.now()).toISOString() });
  };

  emit = (event: SyncEvent): void => this.onEvent?.(event);

  notice = (message: string): void => this.emit({ type: 'notice', message });

  /** Registers what stop undoes; undone in reverse order. */
  defer = (fn: () => Promise<void> | void): void => {
    this.cleanups.push(fn);
  };

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* best effort */
      }
    }
  }
}

export interface SessionBase { localDir: string; binary: SyncthingBinary; target: SyncTarget; paths: StatePaths }

export interface SessionParts extends SessionBase {
  material: SyncMaterial;
  tunnels: Tunnels;
  remote: SyncthingRest;
  local: LocalSyncthing;
  versions?: string;
  fast: FastPath | undefined;
}

export class Running {
  private readonly publisher: Publisher;
  private readonly stopSignal = new AbortController();
  private stopping: Promise<void> | undefined;
  /** When the last dev-mode check found the workload still in dev mode (session.json shows it). */
  private inDevModeAt: string | undefined;
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  private readonly core: Core;
  private readonly options: RunSyncOptions;
  private readonly deps: SyncDeps;
  private readonly p: SessionParts;

  constructor(core: Core, options: RunSyncOptions, deps: SyncDeps, p: SessionParts) {
    this.core = core;
    this.options = options;
    this.deps = deps;
    this.p = p;
    const { clock } = core;
    const facts = this.facts(new Date(clock.now()).toISOString());
    core.dispatch({ type: 'running', at: clock.now() });
    this.publisher = new Publisher({
      clock, sessionPath: p.paths.session, onChange: (status) => core.emit({ type: 'state', status }),
      info: (status) => sessionInfoOf(facts, status, {
        ...(p.local.supervisor.pid !== undefined ? { syncthingPid: p.local.supervisor.pid } : {}), now: clock.now(), ...(core.state.ended ? { ended: core.state.ended } : {}),
        ...(this.inDevModeAt !== undefined ? { inDevModeAt: this.inDevModeAt } : {}),
      }),
    });
    const loopDone = monitorLoop({
      clock, signal: this.stopSignal.signal, intervalMs: deps.monitorIntervalMs ?? 1_000, presenceIntervalMs: deps.presenceIntervalMs ?? PRESENCE_INTERVAL_MS,
      tick: () => this.tick(), presence: this.presenceCheck(), onError: core.fail, debug: core.debug,
    });
    core.defer(async () => {
      this.stopSignal.abort();
      await loopDone;
    });
  }

  private facts(startedAt: string): SessionFacts {
    const { target, material, local, remote, versions } = this.p;
    return {
      pid: process.pid,
      namespace: target.namespace,
      kind: target.kind,
      name: target.name,
      localDir: this.p.localDir,
      twoWay: this.options.twoWay === true,
      ...(versions ? { versionsDir: versions } : {}),
      folderId: material.folderId,
      localDeviceId: material.localDeviceId,
      sidecarDeviceId: material.sidecarDeviceId,
      localApi: { url: local.rest.baseUrl, apiKey: local.apiKey },
      remoteApi: { url: remote.baseUrl, apiKey: material.remoteApiKey },
      startedAt,
    };
  }

  private get current(): SyncStatus {
    return this.publisher.current;
  }

  private publish(status: SyncStatus): void {
    this.publisher.publish(status);
  }

  private async tick(): Promise<SyncStatus> {
    const { core } = this;
    const { material, local, remote, tunnels } = this.p;
    if (localFolderPaused(core.state)) {
      // Paused on purpose while the copy runs: nothing to read from the local folder yet.
      const status: SyncStatus = { ...this.current, state: 'syncing', errors: [] };
      this.publish(status);
      return status;
    }
    const error = core.state.error?.message;
    const snap = await snapshot({ local: local.rest, remote, folderId: material.folderId, sidecarDeviceId: material.sidecarDeviceId, localDeviceId: material.localDeviceId, ...(error !== undefined ? { sessionError: error } : {}) });
    const summary = summarize(snap);
    const pod = tunnels.sync.currentPod;
    const next = afterSnapshot(core.state, { connected: snap.connected, localUp: snap.localUp, now: core.clock.now() });
    core.state = next.next;
    if (next.setUp && pod !== undefined) {
      try {
        await setUpSidecar(this.sidecarIo(), pod, summary.state === 'idle');
      } catch (error) {
        core.fail(`configuring the sidecar: ${(error as Error).message}`);
      }
    }
    if (next.look) await this.look();
    const status = statusOf(summary, { copying: core.state.copy === 'copying', ...(pod !== undefined ? { pod } : {}), ...(core.state.error ? { error: core.state.error } : {}), now: core.clock.now() });
    if (status.state !== this.current.state) core.debug(`state ${status.state}${snap.connected ? ' (connected)' : ''}`);
    this.publish(status);
    return status;
  }

  private sidecarIo(): Parameters<typeof setUpSidecar>[0] {
    const { core } = this;
    return {
      // Two-way switches on once the first sync of --initial has given the folders back their roles.
      local: this.p.local.rest, remote: this.p.remote, folderId: this.p.material.folderId, twoWay: this.options.twoWay === true && core.state.firstSync !== 'running',
      now: () => core.clock.now(), debug: core.debug,
      setup: () => core.state.sidecar, twoWayActive: () => core.state.twoWayActive,
      update: (patch) => core.dispatch({ type: 'sidecar', patch }),
      twoWayOn: (pod) => {
        core.dispatch({ type: 'two-way-on', pod });
        core.notice(`initial sync done; changes in the dev container now come back too (two-way). What they delete or replace on this machine is kept in ${this.p.versions} (the last ${KEPT_VERSIONS} versions of each file, named file~YYYYMMDD-HHMMSS)`);
      },
    };
  }

  /** Not connected for a while: the (new) dev pod, and syncthing asked to dial it at once (a connection waits in the listener while its sidecar starts). */
  private async look(): Promise<void> {
    const { core } = this;
    const { tunnels, local, material } = this.p;
    const found = await lookForDevPod(tunnels);
    const drop = dropPlan(core.state, { ...(found !== undefined ? { found } : {}), activeStreams: tunnels.sync.activeStreams, ...(tunnels.sync.currentPod !== undefined ? { currentPod: tunnels.sync.currentPod } : {}) });
    core.state = drop.next;
    if (drop.dropSync) {
      core.debug(`dropping connections to ${tunnels.sync.currentPod}: the dev pod is now ${found}`);
      tunnels.sync.dropConnections();
    }
    // Keep-alive REST connections to a sidecar that is gone would hang until they time out.
    if (drop.dropApi) tunnels.api.dropConnections();
    const poke = pokePlan(core.state, { ...(found !== undefined ? { found } : {}), activeStreams: tunnels.sync.activeStreams, now: core.clock.now() });
    core.state = poke.next;
    if (poke.poke) {
      core.debug(`not connected; dev pod ${found} found: asking syncthing to dial now`);
      try {
        await local.rest.pauseDevice(material.sidecarDeviceId);
        await local.rest.resumeDevice(material.sidecarDeviceId);
      } catch {
        /* it dials on its own within seconds anyway */
      }
    } else if (found === undefined && tunnels.finder.lastProblem) {
      core.fail(tunnels.finder.lastProblem);
    }
  }

  /** Still in dev mode? Ends the session when its workload left dev mode elsewhere. */
  private presenceCheck(): () => Promise<void> {
    const { core } = this;
    const { target, material } = this.p;
    const cluster = this.deps.cluster ?? clusterApi(this.deps.kc, PRESENCE_TIMEOUT_MS);
    const apiVersion = canonicalKind(target.kind).apiVersion;
    return async () => {
      const verdict = await checkPresence({ cluster, kind: target.kind, apiVersion, name: target.name, namespace: target.namespace,
        secretName: material.secretName, localCertPem: material.localCertPem, secretMissing: core.state.secretMissing });
      if (this.stopSignal.signal.aborted) return;
      core.dispatch({ type: 'secret-missing', count: verdict.secretMissing });
      if (verdict.unknown) core.debug(`dev mode check: ${verdict.unknown}`);
      if (!verdict.end) {
        if (verdict.unknown === undefined && verdict.secretMissing === 0) {
          this.inDevModeAt = new Date(core.clock.now()).toISOString();
          this.publisher.publish(this.current, true);
        }
        return;
      }
      const at = new Date(core.clock.now()).toISOString();
      core.debug(`ending the session: ${verdict.end.reason}`);
      core.dispatch({ type: 'ended', end: verdict.end, at });
      // Recorded before anything stops, so that status never shows this session as running without the reason.
      this.publish({ ...this.current, lastError: core.state.error!.message, lastErrorAt: at });
      void this.stop();
    };
  }

  private stop(): Promise<void> {
    const { core } = this;
    this.stopping ??= (async () => {
      core.dispatch({ type: 'stopping' });
      await core.cleanup();
      dropClosingWebSockets();
      const { error, ended } = core.state;
      this.publish({ ...this.current, state: 'stopped', connected: false, ...(ended ? { lastError: error!.message, lastErrorAt: error!.at } : {}) });
      core.dispatch({ type: 'stopped' });
      this.resolveDone();
    })();
    return this.stopping;
  }

  private async waitInSync(timeoutMs = 120_000): Promise<SyncStatus> {
    const { core } = this;
    const { local, remote, material, tunnels, target } = this.p;
    let reached: SyncStatus;
    try {
      reached = await waitInSync({
        local: local.rest, remote, folderId: material.folderId, sidecarDeviceId: material.sidecarDeviceId, localDeviceId: material.localDeviceId, clock: core.clock, timeoutMs,
        sessionError: () => core.state.error?.message ?? tunnels.sync.lastError, held: () => localFolderPaused(core.state), busy: () => core.state.firstSync === 'running', debug: core.debug,
        ended: () => (core.state.ended ? sessionEndedError(core.state.ended, target.kind, target.name, target.namespace) : undefined),
      });
    } catch (error) {
      // The status the caller sees next is the one that ended the wait.
      if (!core.state.ended) await this.tick().catch(() => undefined);
      throw error;
    }
    core.debug('in sync');
    // Published as it is (a fresh look would cost a round of REST calls through the port-forward; the monitor takes one within a second).
    const pod = tunnels.sync.currentPod;
    const { lastError, lastErrorAt } = this.current;
    this.publish({ ...reached, ...(pod !== undefined ? { pod } : {}), ...(lastError !== undefined ? { lastError } : {}), ...(lastErrorAt !== undefined ? { lastErrorAt } : {}) });
    return this.current;
  }

  handle(): SyncHandle {
    const { target, paths, material, local, remote, binary, tunnels, fast } = this.p;
    return {
      target, paths, material, local: local.rest, remote, binary,
      status: () => this.current,
      refresh: () => this.tick(),
      waitInSync: (timeoutMs) => this.waitInSync(timeoutMs),
      stop: () => this.stop(),
      done: this.done,
      ended: () => this.core.state.ended,
      stats: () => ({
        streams: tunnels.sync.streams,
        syncthingRestarts: local.supervisor.restarts,
        scans: fast?.scans ?? 0,
        watchedDirs: fast?.watched ?? 0,
        pod: tunnels.sync.currentPod,
      }),
    };
  }
}
