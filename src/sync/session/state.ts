// The sync session's one state record and its pure transitions: what the session
// is doing (its phase), how far the initial copy holds the sidecar back, the last
// error, why it ended itself, and what the monitor remembers per dev pod. The
// parts report events; index.ts applies them here and acts on the decisions.

import type { SessionEnd } from '../state.ts';

/** starting: parts coming up; running: the monitor runs; stopping / stopped: stop() was called (or the session ended itself). */
export type SessionPhase = 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * The initial copy's hold on the sidecar: no local index may reach it before the copy
 * is recorded there. `held`: the sidecar device is paused (config.xml). `pausing`: connecting
 * early, the local folder is being paused and the device resumed; `early`: done. `releasing`:
 * the hold is lifted and what is still paused is being resumed.
 */
export type Hold =
  | { phase: 'none' }
  | { phase: 'held' }
  | { phase: 'pausing' }
  | { phase: 'early' }
  | { phase: 'releasing'; folderPaused: boolean; deviceResumed: boolean }
  | { phase: 'released' };

/** The initial copy itself: `copying` while tar fills the container (the status then says syncing, not connecting). */
export type CopyPhase = 'none' | 'waiting' | 'copying' | 'done';

/** What the session set up in the sidecar of which dev pod (once per pod). */
export interface SidecarSetup {
  /** The pod whose sidecar got the ignore patterns. */
  readyFor?: string;
  /** The pod whose sidecar's watcher is known to be on. */
  watcherOnFor?: string;
  /** The pod whose sidecar was switched to two-way. */
  twoWayPod?: string;
  lastTwoWayCheck: number;
}

/** How the session gets a connection back after the dev pod went away. */
export interface Reconnect {
  disconnectedSince?: number;
  lastPoke: number;
  lastPokedPod?: string;
  /** The REST connections to the old sidecar were dropped (once per disconnection). */
  apiDropped: boolean;
}

export interface SessionState {
  phase: SessionPhase;
  hold: Hold;
  copy: CopyPhase;
  error?: { message: string; at: string };
  /** Set once the workload is found out of dev mode: the session then stops itself. */
  ended?: SessionEnd;
  /** The local folder is send-receive (two-way, after the initial sync). */
  twoWayActive: boolean;
  /** kubectl-dev's watcher failed: syncthing's own watcher is on. */
  watcherFallback: boolean;
  sidecar: SidecarSetup;
  reconnect: Reconnect;
  /** Presence checks in a row that found the Secret gone (presence.ts). */
  secretMissing: number;
  /** The first sync of `--initial` when both sides had files: running while the folders have its roles. */
  firstSync: 'none' | 'running' | 'done';
}

export type SessionEvent =
  | { type: 'running'; at: number }
  | { type: 'stopping' }
  | { type: 'stopped' }
  | { type: 'failed'; message: string; at: string }
  | { type: 'ended'; end: Omit<SessionEnd, 'at'>; at: string }
  | { type: 'copy-started' }
  | { type: 'copy-ended' }
  | { type: 'connect-early' }
  | { type: 'device-resumed' }
  | { type: 'release' }
  | { type: 'folder-resumed' }
  | { type: 'watcher-fallback' }
  | { type: 'two-way-on'; pod: string }
  | { type: 'sidecar'; patch: Partial<SidecarSetup> }
  | { type: 'secret-missing'; count: number }
  | { type: 'first-sync'; phase: 'running' | 'done' };

/** `hold`: the sidecar is held back at first (for the copy, or for the first sync's roles of --initial). */
export function initialState(initialCopy: boolean, hold = initialCopy): SessionState {
  return {
    phase: 'starting',
    hold: hold ? { phase: 'held' } : { phase: 'none' },
    copy: initialCopy ? 'waiting' : 'none',
    twoWayActive: false,
    watcherFallback: false,
    sidecar: { lastTwoWayCheck: 0 },
    reconnect: { lastPoke: 0, apiDropped: false },
    secretMissing: 0,
    firstSync: 'none',
  };
}

export function transition(s: SessionState, e: SessionEvent): SessionState {
  switch (e.type) {
    case 'running':
      return s.phase === 'starting' ? { ...s, phase: 'running', reconnect: { ...s.reconnect, disconnectedSince: e.at } } : s;
    case 'stopping':
      return s.phase === 'stopped' ? s : { ...s, phase: 'stopping' };
    case 'stopped':
      return { ...s, phase: 'stopped' };
    case 'failed':
      // Once the session is ending itself, why it ends stays the last error.
      return s.ended ? s : { ...s, error: { message: e.message, at: e.at } };
    case 'ended':
      return { ...s, ended: { ...e.end, at: e.at }, error: { message: `sync ended: ${e.end.reason}`, at: e.at } };
    case 'copy-started':
      return { ...s, copy: 'copying' };
    case 'copy-ended':
      return s.copy === 'none' ? s : { ...s, copy: 'done' };
    case 'watcher-fallback':
      return { ...s, watcherFallback: true };
    case 'two-way-on':
      return { ...s, twoWayActive: true, sidecar: { ...s.sidecar, twoWayPod: e.pod } };
    case 'sidecar':
      return { ...s, sidecar: { ...s.sidecar, ...e.patch } };
    case 'secret-missing':
      return { ...s, secretMissing: e.count };
    case 'first-sync':
      return { ...s, firstSync: e.phase };
    default:
      return { ...s, hold: holdTransition(s.hold, e) };
  }
}

function holdTransition(h: Hold, e: SessionEvent): Hold {
  switch (e.type) {
    case 'connect-early':
      return h.phase === 'held' ? { phase: 'pausing' } : h;
    case 'release':
      if (h.phase === 'held') return { phase: 'releasing', folderPaused: false, deviceResumed: false };
      if (h.phase === 'pausing') return { phase: 'releasing', folderPaused: true, deviceResumed: false };
      if (h.phase === 'early') return { phase: 'releasing', folderPaused: true, deviceResumed: true };
      return h;
    case 'folder-resumed':
      return h.phase === 'releasing' ? settle({ ...h, folderPaused: false }) : h;
    case 'device-resumed':
      if (h.phase === 'pausing') return { phase: 'early' };
      return h.phase === 'releasing' ? settle({ ...h, deviceResumed: true }) : h;
    default:
      return h;
  }
}

function settle(h: Extract<Hold, { phase: 'releasing' }>): Hold {
  return !h.folderPaused && h.deviceResumed ? { phase: 'released' } : h;
}

/** The sidecar is held back on purpose (the initial copy runs): no setup, no reconnecting, paused in config.xml. */
export function holdsSidecar(s: SessionState): boolean {
  return s.hold.phase === 'held' || s.hold.phase === 'pausing' || s.hold.phase === 'early';
}

/** The local folder is paused on purpose (connected early): its REST API answers "folder is paused". */
export function localFolderPaused(s: SessionState): boolean {
  return s.hold.phase === 'pausing' || s.hold.phase === 'early' || (s.hold.phase === 'releasing' && s.hold.folderPaused);
}

/** The hold was lifted (or there was none): connecting early is too late. */
export function releasing(s: SessionState): boolean {
  return s.hold.phase === 'releasing' || s.hold.phase === 'released';
}

/** What the release still has to resume, in this order. */
export function releaseSteps(s: SessionState): { resumeFolder: boolean; resumeDevice: boolean } {
  const h = s.hold;
  if (h.phase !== 'releasing') return { resumeFolder: false, resumeDevice: false };
  return { resumeFolder: h.folderPaused, resumeDevice: !h.deviceResumed };
}

/** Not connected for this long: look for the (new) dev pod. */
export const LOOK_AFTER_MS = 500;
/** A pod already asked to dial is asked again after this long. */
export const POKE_AGAIN_MS = 10_000;

/**
 * After a snapshot: whether to set up the sidecar (connected), or to look for the dev pod
 * (not connected for a while; not while the sidecar is held on purpose).
 */
export function afterSnapshot(s: SessionState, seen: { connected: boolean; localUp: boolean; now: number }): { next: SessionState; setUp: boolean; look: boolean } {
  const r = s.reconnect;
  if (seen.connected) {
    const { disconnectedSince: _, ...rest } = r;
    return { next: { ...s, reconnect: { ...rest, apiDropped: false } }, setUp: !holdsSidecar(s), look: false };
  }
  if (holdsSidecar(s)) {
    // Not connected on purpose: nothing to recover (dropping REST connections would cut the sidecar's scans short on this side only).
    const { disconnectedSince: _, ...rest } = r;
    return { next: { ...s, reconnect: rest }, setUp: false, look: false };
  }
  if (!seen.localUp) return { next: s, setUp: false, look: false };
  const since = r.disconnectedSince ?? seen.now;
  return { next: { ...s, reconnect: { ...r, disconnectedSince: since } }, setUp: false, look: seen.now - since > LOOK_AFTER_MS };
}

/** Looking: which connections go. Those to a pod that is not the dev pod; the REST ones once per disconnection. */
export function dropPlan(s: SessionState, seen: { found?: string; activeStreams: number; currentPod?: string }): { next: SessionState; dropSync: boolean; dropApi: boolean } {
  const dropSync = seen.found !== undefined && seen.activeStreams > 0 && seen.currentPod !== seen.found;
  const dropApi = !s.reconnect.apiDropped;
  return { next: dropApi ? { ...s, reconnect: { ...s.reconnect, apiDropped: true } } : s, dropSync, dropApi };
}

/** Looking: whether to make syncthing dial the dev pod now (it otherwise redials every 5 s or more). */
export function pokePlan(s: SessionState, seen: { found?: string; activeStreams: number; now: number }): { next: SessionState; poke: boolean } {
  const r = s.reconnect;
  const poke = seen.found !== undefined && !holdsSidecar(s) && seen.activeStreams === 0 && (seen.found !== r.lastPokedPod || seen.now - r.lastPoke > POKE_AGAIN_MS);
  return poke ? { next: { ...s, reconnect: { ...r, lastPoke: seen.now, lastPokedPod: seen.found } }, poke } : { next: s, poke };
}
