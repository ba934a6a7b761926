// The initial copy: the local tree into a new dev pod's empty sync folder as one tar stream,
// by exec in the sidecar, before the two syncthings connect. tar.ts encodes the headers,
// tree.ts reads the tree without ever leaving it, plan.ts lists it and plans the stream,
// stream.ts writes the stream into the exec (and undoes a copy that failed).

export { SEED_DIR_MODE, SEED_FILE_MODE, tarHeader, ustarName } from './tar.ts';
export {
  isSyncthingInternal, listAndPlan, planCopy, seedEntries, topLevel, treeReading,
  type CopyPlan, type EntryStat, type PlannedEntry, type SeedEntry,
} from './plan.ts';
export { removeInContainer, seedContainer, SeedError, writeTar, type SeedOptions, type SeedProgress } from './stream.ts';
