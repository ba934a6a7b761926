// The initial copy's names at the path their importers know: the copy is src/sync/copy/,
// its exec the exec edge (src/kube/exec.ts).

export { clientNodeExec, type ExecFn, type ExecSocket, type ExecStatus } from '../kube/exec.ts';
export * from './copy/index.ts';
