// The persistent claim's plan steps (--persist), shared by the start plan and the duplicate plan
// (a dev copy's claim is its own, named after the copy). Pure.

import { devModeNames } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import type { KubeObject } from '../core/objects.ts';
import { persistentClaim, type ClaimOptions } from '../core/persist.ts';
import type { DevSettings } from '../core/settings.ts';
import { displayRef } from './objects.ts';
import type { PlanStep } from './plan.ts';

/**
 * The persistent claim, before the workload change (the dev pod needs it): created when missing,
 * taken when kept from an earlier dev mode (its size and class are then the ones it has). Owned by
 * nobody, so that end, a replaced Pod or a re-created workload keep it (docs/decisions.md).
 */
export function claimSteps(found: KubeObject | undefined, settings: DevSettings, owner: { kind: WorkloadKind; name: string }, namespace: string, asked: ClaimOptions): PlanStep[] {
  if (!settings.persist) return [];
  const { claimName, workloadLabel } = devModeNames(owner.kind, owner.name);
  if (found?.metadata?.deletionTimestamp) {
    throw new DevError('CONFLICT', `the PersistentVolumeClaim ${claimName} of ${displayRef(owner)} is being deleted (kubectl dev volumes rm or end --delete-volumes)`,
      `wait until it is gone (kubectl get pvc ${claimName} -n ${namespace}; a pod still using it keeps it), then start again.`);
  }
  if (found) return [{ type: 'found', label: `create PersistentVolumeClaim ${claimName}`, object: found, noteBefore: keptClaimNote(found, asked) }];
  const claim = persistentClaim(claimName, namespace, { ref: `${owner.kind.kind}/${owner.name}`, label: workloadLabel }, asked);
  return [{ type: 'create', label: `create PersistentVolumeClaim ${claimName}`, object: claim, keepExisting: true }];
}

/** Says a claim is kept, and when the size or class asked differ from its own, that they apply to a new claim only. */
function keptClaimNote(found: KubeObject, asked: ClaimOptions): string {
  const spec = (found.spec ?? {}) as { storageClassName?: string; resources?: { requests?: { storage?: string } } };
  const has = { size: spec.resources?.requests?.storage, storageClass: spec.storageClassName };
  const differs = (['size', 'storageClass'] as const).filter((key) => asked[key] !== undefined && asked[key] !== has[key]);
  const note = `keeping PersistentVolumeClaim ${found.metadata?.name} from an earlier dev mode (${has.size ?? '?'}, StorageClass ${has.storageClass ?? 'default'})`;
  return differs.length === 0 ? note : `${note}: the ${differs.join(' and ')} asked apply to a new claim only (end with --delete-volumes first)`;
}
