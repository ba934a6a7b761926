// Duplicate mode's flag on the commands that work on a workload in dev mode (end, sync, run,
// exec, env, status): with it, the command works on the current user's dev copy of the workload
// named (the copy is also a workload in dev mode under its own name, which works without the flag).

import type { WorkloadKind } from '../core/kinds.ts';
import type { KubeTarget } from '../kube/config.ts';
import type { OptionSpec } from './command.ts';

export const DUPLICATE_OPTION = {
  duplicate: { type: 'boolean', describe: 'Your dev copy of the workload (kubectl dev start --duplicate made it), not the workload itself', field: 'duplicate' },
} as const satisfies Record<string, OptionSpec>;

type Ref = { kind: WorkloadKind; name: string; namespace: string };

/** The workload named, or (duplicate) the current user's copy of it: the user as the API server sees them. */
export async function workloadOrCopy<R extends Ref>(ref: R, duplicate: boolean | undefined, kube: KubeTarget): Promise<R> {
  if (!duplicate) return ref;
  const [{ clusterApi }, { duplicateRef }] = await Promise.all([import('../kube/api.ts'), import('../core/duplicate.ts')]);
  const { username } = await clusterApi(kube.kc, kube.requestTimeoutMs).whoAmI();
  return { ...ref, ...duplicateRef(ref.kind, ref.name, username) };
}
