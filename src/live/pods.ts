// Waiting for a pod to be gone.

import { DevError } from '../core/errors.ts';
import type { ObjectRef } from '../kube/api.ts';
import type { LiveDeps } from './deps.ts';

export async function waitUntilGone(ref: ObjectRef, uid: string, timeoutMs: number, deps: LiveDeps): Promise<void> {
  const deadline = deps.clock.now() + timeoutMs;
  for (;;) {
    const current = await deps.api.get(ref);
    if (!current || current.metadata?.uid !== uid) return;
    if (deps.clock.now() >= deadline) {
      throw new DevError('TIMEOUT', `${ref.kind}/${ref.name} was not deleted within ${Math.round(timeoutMs / 1000)} s`,
        'a finalizer or a long grace period holds it: kubectl describe shows which. Run the command again when it is gone.');
    }
    await deps.clock.sleep(200);
  }
}
