// Where live mode meets the sync module: the Secret the sidecar reads (fresh keys per workload).
import type { KubeObject } from '../core/objects.ts';
import type { SyncSecretFactory } from '../live/deps.ts';

export function syncSecretFactory(): SyncSecretFactory {
  return async ({ workload, namespace, workdir, existing }) => {
    const { prepareSyncSecret } = await import('../sync/secret.ts');
    return prepareSyncSecret({ workload, kind: String(workload.kind), namespace, workdir, existing }).secret as unknown as KubeObject;
  };
}
