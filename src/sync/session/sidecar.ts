// The sidecar's side of a session, once per dev pod: its ignore patterns (the
// laptop's), its watcher back on after an initial copy, and two-way mode after the
// initial sync. What was done for which pod is the session's state (SidecarSetup).

import type { SyncthingRest } from '../rest.ts';
import type { SidecarSetup } from './state.ts';

/** A restarted sidecar container reads its config from the Secret again (receive-only): checked this often. */
const TWO_WAY_CHECK_MS = 10_000;

export interface SidecarIo {
  local: Pick<SyncthingRest, 'getIgnores' | 'patchFolder'>;
  remote: Pick<SyncthingRest, 'getFolder' | 'patchFolder' | 'getIgnores' | 'setIgnores' | 'dbStatus' | 'revert'>;
  folderId: string;
  twoWay: boolean;
  now: () => number;
  debug: (message: string) => void;
  /** What was done so far (read fresh after every call). */
  setup: () => SidecarSetup;
  twoWayActive: () => boolean;
  update: (patch: Partial<SidecarSetup>) => void;
  /** The pod's sidecar and the local folder are now send-receive. */
  twoWayOn: (pod: string) => void;
}

/** Sets up the sidecar of `pod` where it is not yet; `inSync`: the sidecar is idle and has everything. */
export async function setUpSidecar(io: SidecarIo, pod: string, inSync: boolean): Promise<void> {
  if (io.twoWay && io.setup().twoWayPod === pod && io.now() - io.setup().lastTwoWayCheck > TWO_WAY_CHECK_MS) {
    io.update({ lastTwoWayCheck: io.now() });
    if ((await io.remote.getFolder(io.folderId)).type !== 'sendreceive') io.update({ twoWayPod: undefined });
  }
  // Off while an initial copy ran (or left off by a session that died): on once in sync,
  // when restarting the folder costs only a rescan, not an interrupted pull.
  if (inSync && io.setup().watcherOnFor !== pod) {
    if (await ensureSidecarWatcher(io.remote, io.folderId)) io.debug('turned the sidecar\'s watcher on');
    io.update({ watcherOnFor: pod });
  }
  if (io.setup().readyFor === pod && (!io.twoWay || io.setup().twoWayPod === pod)) return;
  await copyIgnores(io);
  io.update({ readyFor: pod });
  if (io.twoWay && io.setup().twoWayPod !== pod && inSync) {
    // The laptop wins the initial sync (with every new dev pod, whose sidecar starts
    // receive-only again): whatever the container changed is reverted first.
    const status = await io.remote.dbStatus(io.folderId);
    if ((status.receiveOnlyTotalItems ?? 0) > 0) await io.remote.revert(io.folderId);
    await io.remote.patchFolder(io.folderId, { type: 'sendreceive' });
    if (!io.twoWayActive()) await io.local.patchFolder(io.folderId, { type: 'sendreceive' });
    io.twoWayOn(pod);
  }
}

/** The local .stignore as written (so the sidecar's reads the same); its expansion when it includes other files. */
function copyIgnores(io: SidecarIo): Promise<void> {
  return copyIgnoresTo(io.local, io.remote, io.folderId);
}

/** The local ignore patterns into the sidecar's folder (unchanged ones are not written again: that would rescan it). */
export async function copyIgnoresTo(local: Pick<SyncthingRest, 'getIgnores'>, remote: Pick<SyncthingRest, 'getIgnores' | 'setIgnores'>, folderId: string): Promise<void> {
  const localIgnores = await local.getIgnores(folderId);
  const lines = localIgnores.ignore ?? [];
  const wanted = lines.some((l) => l.trim().startsWith('#include')) ? (localIgnores.expanded ?? []) : lines;
  const have = (await remote.getIgnores(folderId)).ignore ?? [];
  if (JSON.stringify(wanted) !== JSON.stringify(have)) await remote.setIgnores(folderId, wanted);
}

/** Turns the sidecar's watcher on when it is off (as the initial copy leaves it if its session dies). */
export async function ensureSidecarWatcher(remote: Pick<SyncthingRest, 'getFolder' | 'patchFolder'>, folderId: string): Promise<boolean> {
  const folder = await remote.getFolder(folderId);
  if (folder.fsWatcherEnabled !== false) return false;
  await remote.patchFolder(folderId, { fsWatcherEnabled: true });
  return true;
}
