// The initial copy (sync/copy's tar stream) as one protocol: into an empty sidecar
// folder only, with the sidecar held back meanwhile (its device paused, or, once
// connected early, the local folder paused) so that no local index reaches it
// before its scan has recorded the copy; then the hold is released. The hold's
// phases are the session state's (state.ts); this part reports its steps as events.

import { SIDECAR_CONTAINER } from '../../core/marks.ts';
import { delaysNewConnections, parseVersion } from '../binary.ts';
import type { PodFinder } from '../../kube/port-forward.ts';
import type { Clock } from '../process.ts';
import { RestError, type SyncthingEvent, type SyncthingRest } from '../rest.ts';
import { type ExecFn } from '../../kube/exec.ts';
import { listAndPlan, removeInContainer, seedContainer, topLevel } from '../copy/index.ts';
import { releasing, releaseSteps, type SessionEvent, type SessionState } from './state.ts';

/** Pause between the sidecar's scans while the initial copy runs (and before the first). */
const SCAN_DURING_COPY_MS = 250;
/** How long the hold waits for the local syncthing's REST API. */
const LOCAL_UP_WAIT_MS = 30_000;

/** True when `ignoreMatcher` reads every line as syncthing does (no #include or other directives). */
export function matcherCovers(lines: readonly string[]): boolean {
  return lines.every((raw) => {
    const line = raw.trim();
    return !line.startsWith('#') || line === '#';
  });
}

export interface InitialCopyOptions {
  local: SyncthingRest;
  remote: SyncthingRest;
  folderId: string;
  sidecarDeviceId: string;
  finder: PodFinder;
  exec: ExecFn;
  namespace: string;
  workdir: string;
  localDir: string;
  /** What the copy leaves out (copyMatcher). */
  isIgnored: (rel: string) => boolean;
  /** False: only hold the sidecar back until its folder is known (no tar copy). */
  copy: boolean;
  /** The sidecar's folder is not empty: what to do (still held) before it connects. */
  bothHaveFiles?: (signal: AbortSignal) => Promise<void>;
  clock: Clock;
  /** Resolves when the local syncthing's REST API answers. */
  localUp: Promise<void>;
  state: () => SessionState;
  dispatch: (event: SessionEvent) => void;
  onError: (message: string) => void;
  notice: (message: string) => void;
  debug: (message: string) => void;
}

/** Starts the copy; `done` settles once the hold is released (or the session stops); `signal` aborts at stop. */
export function startInitialCopy(o: InitialCopyOptions): { done: Promise<void>; signal: AbortSignal; stop: () => Promise<void> } {
  const abort = new AbortController();
  const signal = abort.signal;
  // Pausing and resuming run one after the other (a release may come while the early connection is made).
  let sidecarStep: Promise<unknown> = Promise.resolve();
  const serially = (step: () => Promise<void>) => {
    const done = sidecarStep.then(step);
    sidecarStep = done.catch(() => undefined);
    return done;
  };
  let released: Promise<void> | undefined;
  const release = () => released ??= (async () => {
    o.dispatch({ type: 'release' });
    await Promise.race([o.localUp, o.clock.sleep(LOCAL_UP_WAIT_MS, signal)]);
    if (signal.aborted) return;
    await serially(async () => {
      const steps = releaseSteps(o.state());
      if (steps.resumeFolder) {
        await o.local.patchFolder(o.folderId, { paused: false }).catch((error: unknown) => o.onError(`resuming the local folder: ${(error as Error).message}`));
        o.dispatch({ type: 'folder-resumed' });
      }
      if (steps.resumeDevice) {
        await o.local.resumeDevice(o.sidecarDeviceId).catch((error: unknown) => o.onError(`resuming the sidecar device: ${(error as Error).message}`));
        o.dispatch({ type: 'device-resumed' });
      }
    });
  })();
  const done = (async () => {
    void connectEarly(o, signal, serially).catch((error: unknown) => o.debug(`connecting early: ${(error as Error).message}`));
    try {
      await copyIntoSidecar({ ...o, signal, finalScanRunning: () => void release() });
    } finally {
      o.dispatch({ type: 'copy-ended' });
      await release();
    }
  })();
  return {
    done,
    signal,
    stop: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}

/**
 * A sidecar with syncthing 1.28 or later uses a new connection only a second after it
 * came up (delaysNewConnections). Once the local scan is done, the connection then comes
 * up while the copy still runs: with the local folder paused, syncthing keeps its index
 * back and sends it over the same connection when the folder is resumed (release).
 * The sidecar still gets no index before its last scan runs. Older sidecars connect at
 * once, and resuming the folder costs the local syncthing a rescan: not for them.
 */
async function connectEarly(o: InitialCopyOptions, signal: AbortSignal, serially: (step: () => Promise<void>) => Promise<void>): Promise<void> {
  const tooLate = () => releasing(o.state()) || signal.aborted;
  let reported: string | undefined; // the sidecar may still be starting
  while (reported === undefined) {
    if (tooLate()) return;
    reported = await o.remote.version().then((v) => v.version, () => undefined);
    if (reported === undefined) await o.clock.sleep(200, signal).catch(() => undefined);
  }
  const sidecarVersion = parseVersion(reported);
  if (!sidecarVersion || !delaysNewConnections(sidecarVersion)) {
    o.debug(`the sidecar's syncthing ${reported} uses a connection at once: connecting when its last scan runs`);
    return;
  }
  await Promise.race([o.localUp, o.clock.sleep(LOCAL_UP_WAIT_MS, signal)]);
  if (!(await localScanEnded(o, tooLate, signal))) return;
  await serially(async () => {
    if (tooLate()) return;
    o.dispatch({ type: 'connect-early' }); // before the call: whatever happens, the release unpauses
    await o.local.patchFolder(o.folderId, { paused: true });
    await o.local.resumeDevice(o.sidecarDeviceId);
    o.dispatch({ type: 'device-resumed' });
    o.debug('local scan done: connecting to the sidecar, the local folder paused until the sidecar\'s last scan runs');
  });
}

/**
 * Waits for the local folder's first scan to end (scanning → idle). Only the events API's
 * default subscription keeps what happened since syncthing started (one filtered by type
 * starts at its first request). A scan that fails never gets here: the device is then
 * resumed with the folder, at the release. False when it became too late meanwhile.
 */
async function localScanEnded(o: InitialCopyOptions, tooLate: () => boolean, signal: AbortSignal): Promise<boolean> {
  for (let since = 0, done = false; !done;) {
    if (tooLate()) return false;
    let events: SyncthingEvent[];
    try {
      events = await o.local.events(since, [], 5);
    } catch {
      // A long poll can end without an answer (seen right after start-up): ask again.
      await o.clock.sleep(100, signal).catch(() => undefined);
      continue;
    }
    for (const event of events) {
      since = Math.max(since, event.id);
      const change = event.data as { folder?: string; from?: string; to?: string };
      done ||= event.type === 'StateChanged' && change.folder === o.folderId && change.from === 'scanning' && change.to === 'idle';
    }
  }
  return true;
}

type CopyOptions = InitialCopyOptions & {
  signal: AbortSignal;
  /** The sidecar's scan after a complete copy is under way: connecting now is safe (see recordCopy). */
  finalScanRunning: () => void;
};
type CopyTarget = { exec: ExecFn; namespace: string; pod: string; container: string; workdir: string };
type Plan = Awaited<ReturnType<typeof listAndPlan>>;

/** The listing found nothing to copy (only directories, or nothing at all). */
class NothingToCopy extends Error {}

/**
 * Only into an empty sidecar folder, then a scan of the sidecar so its index has what
 * arrived. A failed copy is undone, reported as a notice, and leaves everything to syncthing.
 */
async function copyIntoSidecar(o: CopyOptions): Promise<void> {
  // No dev pod: nothing to copy into (and nothing to connect to); syncthing waits for one as usual.
  const pod = await o.finder.find();
  if (!pod || o.signal.aborted) {
    o.debug('initial copy skipped: no ready dev pod');
    return;
  }
  // The tree is listed while the sidecar is asked about its folder, and, once that is
  // known to be empty, while the copy's exec opens: both wait on the network.
  const listing = new AbortController();
  const planned = o.copy ? listAndPlan(o.localDir, o.isIgnored, AbortSignal.any([o.signal, listing.signal])) : Promise.reject(new NothingToCopy());
  planned.catch(() => undefined);
  if (!(await sidecarFolderIsEmpty(o, pod.name))) {
    listing.abort();
    if (!o.signal.aborted) await o.bothHaveFiles?.(o.signal);
    return;
  }
  if (!o.copy) return;
  // The sidecar's watcher would follow every file tar writes and scan files still being
  // written: off while the copy runs, and until the sidecar is in sync (sidecar.ts turns it
  // on). Asked now, so that the sidecar restarts its folder while the tree is listed here.
  const watcherOff = o.remote.patchFolder(o.folderId, { fsWatcherEnabled: false })
    .catch((error: unknown) => o.debug(`the sidecar's watcher stays on during the copy: ${(error as Error).message}`));
  const target: CopyTarget = { exec: o.exec, namespace: o.namespace, pod: pod.name, container: SIDECAR_CONTAINER, workdir: o.workdir };
  const sent = await sendTree(o, target, planned, watcherOff);
  if (!sent || o.signal.aborted) return;
  await recordCopy(o, sent);
}

/** The tar stream; undefined when nothing was sent (nothing to copy, stopped, the listing failed). */
async function sendTree(o: CopyOptions, target: CopyTarget, planned: Promise<Plan>, watcherOff: Promise<unknown>): Promise<{ copied: boolean; settled: boolean } | undefined> {
  let t0 = o.clock.now();
  const toSend = (async () => {
    const plan = await planned;
    o.debug(`initial copy: ${plan.entries.length} entries listed, ${plan.files} files (${(plan.bytes / 1e6).toFixed(1)} MB) planned`);
    if (plan.files === 0) throw new NothingToCopy();
    await watcherOff;
    t0 = o.clock.now();
    o.dispatch({ type: 'copy-started' });
    o.debug(`initial copy of ${plan.files} files starts`);
    return plan;
  })();
  const copyEnded = new AbortController();
  const during = scanWhileCopying(o, toSend, copyEnded.signal);
  try {
    const done = await seedContainer({ ...target, root: o.localDir, plan: toSend, signal: o.signal, debug: o.debug });
    copyEnded.abort();
    const scans = await during;
    o.debug(`initial copy: ${done.files} files, ${(done.bytes / 1e6).toFixed(1)} MB in ${o.clock.now() - t0} ms (${scans.scans} scans of the sidecar meanwhile${scans.unanswered > 0 ? `, ${scans.unanswered} unanswered` : ''})`);
    // Files edited while the copy ran went in with their planned size, maybe wrong:
    // removed again before the sidecar records them, syncthing sends them.
    if (done.changed.length > 0) {
      const removed = await removeInContainer(target, done.changed);
      o.debug(`initial copy: ${done.changed.length} file(s) changed while being copied, ${removed ? 'removed again' : 'could not be removed'}`);
    }
    // Every scan asked for during the copy has ended: the next scan to run is the one asked for next.
    return { copied: true, settled: scans.scans > 0 && scans.unanswered === 0 };
  } catch (error) {
    copyEnded.abort();
    await during;
    if (error instanceof NothingToCopy) {
      await watcherOff;
      return undefined;
    }
    const plan = await toSend.catch(() => undefined);
    if (!plan) return undefined;
    const undone = await removeInContainer(target, topLevel(plan.entries));
    o.notice(`the initial copy of ${plan.files} files with tar did not complete (${(error as Error).message}); syncthing copies them instead`);
    // Not undone (the pod went away?): syncthing sorts out what is there after its scan.
    if (!undone) o.debug('initial copy: could not remove what was copied');
    return { copied: false, settled: false };
  }
}

/**
 * While tar writes, the sidecar scans what has arrived so far, one scan after the other,
 * so that little is left for the scan after the copy (the sidecar runs at low priority:
 * these scans take only CPU the copy leaves over). A file caught half written is hashed
 * again by the next scan. `unanswered`: calls without an answer, whose scan may still run
 * (an answer, even an error while the folder restarts, means it ended or never began).
 */
async function scanWhileCopying(o: CopyOptions, toSend: Promise<unknown>, copyEnded: AbortSignal): Promise<{ scans: number; unanswered: number }> {
  let scans = 0;
  let unanswered = 0;
  if (!(await toSend.then(() => true, () => false))) return { scans, unanswered };
  await o.clock.sleep(SCAN_DURING_COPY_MS, copyEnded);
  while (!copyEnded.aborted && !o.signal.aborted) {
    await o.remote.scan(o.folderId).then(() => scans++, (error: unknown) => {
      if (!(error instanceof RestError && error.status !== undefined)) unanswered++;
      o.debug(`initial copy: a scan of the sidecar failed: ${(error as Error).message}`);
    });
    await o.clock.sleep(SCAN_DURING_COPY_MS, copyEnded);
  }
  return { scans, unanswered };
}

/**
 * The sidecar's index gets what arrived (once connected, equal files are only recorded).
 * No pull may run before this scan has recorded the copy: it would find files on disk
 * that the sidecar's index lacks. The watcher stays off until the sidecar is in sync.
 */
async function recordCopy(o: CopyOptions, sent: { copied: boolean; settled: boolean }): Promise<void> {
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
  if (sent.copied && sent.settled) {
    // syncthing runs a folder's scans and pulls one after the other: with every earlier scan
    // ended, the scan the sidecar shows now is this one, and a pull the laptop's index
    // schedules waits for it, so connecting now overlaps the index exchange with the scan.
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
  if (!sent.copied) {
    // What the sidecar recorded of the failed copy before it was removed would count as a
    // change made in the container (a receive-only folder keeps those): forgotten.
    const after = await o.remote.dbStatus(o.folderId).catch(() => undefined);
    if ((after?.receiveOnlyTotalItems ?? 0) > 0) {
      await o.remote.revert(o.folderId).catch((error: unknown) => o.debug(`reverting the sidecar after a failed copy: ${(error as Error).message}`));
    }
  }
}

/**
 * Whether the sidecar's folder is empty, so the copy may go in. `start` hands over as
 * soon as the pod is ready: its sidecar's syncthing may need a few more seconds, and
 * a new sidecar may still be scanning its (empty) folder.
 */
async function sidecarFolderIsEmpty(o: CopyOptions, pod: string): Promise<boolean> {
  let status;
  const deadline = o.clock.now() + 6_000;
  for (;;) {
    try {
      status = await o.remote.dbStatus(o.folderId);
      if (status.state === 'idle') break;
    } catch (error) {
      status = undefined;
      if (error instanceof RestError && error.status === 403) {
        // The key is the sync Secret's: a sidecar refusing it copied another Secret when it started.
        o.onError(`the sync sidecar of dev pod ${pod} refused the sync Secret's API key (HTTP 403): it started with the keys of an earlier Secret, replaced since; ` +
          'run kubectl dev start again with the same settings: it replaces the dev pod');
        return false;
      }
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
