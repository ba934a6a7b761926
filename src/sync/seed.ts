// The initial copy's names, at the path their importers know: the copy lives in
// src/sync/copy/ (tar.ts, tree.ts, plan.ts, stream.ts), its exec in src/kube/exec.ts.

export { clientNodeExec, type ExecFn, type ExecSocket, type ExecStatus } from '../kube/exec.ts';
export { SEED_DIR_MODE, SEED_FILE_MODE, tarHeader, ustarName } from './copy/tar.ts';
export {
  isSyncthingInternal, listAndPlan, planCopy, seedEntries, topLevel, treeReading,
  type CopyPlan, type EntryStat, type PlannedEntry, type SeedEntry,
} from './copy/plan.ts';
export { removeInContainer, seedContainer, SeedError, writeTar, type SeedOptions, type SeedProgress } from './copy/stream.ts';
