// Builds live mode's dependencies for the CLI: the real cluster API, clock, progress display,
// the sync Secret factory, and the checkpoint counter used for fault injection.

import { hostname } from 'node:os';
import type { KubeTarget } from '../kube/config.ts';
import { clusterApi } from '../kube/api.ts';
import { realClock, type LiveDeps, type SyncSecretFactory } from '../live/deps.ts';
import type { CliIO } from './io.ts';
import { makeProgress } from './progress.ts';

/**
 * Fault injection for the crash-safety tests: with KUBECTL_DEV_CRASH_AT_STEP=N the process
 * kills itself (SIGKILL, as a crash would) right before its Nth change to the cluster.
 */
function checkpointFor(io: CliIO): (name: string) => void {
  const crashAt = Number(io.env.KUBECTL_DEV_CRASH_AT_STEP ?? 0);
  let count = 0;
  return (name) => {
    count++;
    if (io.env.KUBECTL_DEV_TRACE_STEPS) io.stderr.write(`step ${count}: ${name}\n`);
    if (crashAt > 0 && count === crashAt) process.kill(process.pid, 'SIGKILL');
  };
}

export function liveDeps(target: KubeTarget, io: CliIO, options: { quiet: boolean; syncSecret: SyncSecretFactory }): LiveDeps {
  return {
    api: clusterApi(target.kc, target.requestTimeoutMs),
    clock: realClock,
    progress: makeProgress(io.stderr, io.env, options.quiet),
    checkpoint: checkpointFor(io),
    syncSecret: options.syncSecret,
    host: hostname(),
  };
}
