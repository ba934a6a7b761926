// The sync session, one per workload: see session/index.ts. Kept for its callers.

export { runSync, type RunSyncOptions, type SyncDeps, type SyncHandle, type SyncEvent } from './session/index.ts';
export { matcherCovers } from './session/initial-copy.ts';
export { ensureSidecarWatcher } from './session/sidecar.ts';
export { killOrphanSyncthing, versionsDir } from './state.ts';
export { clusterOf, loadOrCreateSecret, syncTargetOf } from './target.ts';
