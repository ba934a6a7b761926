// exit: objects in dev mode → the objects as they were. Generated objects are dropped.

import { DevError } from './errors.ts';
import { isGenerated, isInDevMode } from './enter.ts';
import { ORIGINAL_ANNOTATION } from './marks.ts';
import { isPlainObject, objectRef, type KubeObject } from './objects.ts';
import { applyRestorableState, parseRestorableState } from './original.ts';

/**
 * The original of one workload in dev mode. `externalOriginal` is the saved original's JSON
 * when live mode kept it in a ConfigMap (the workload then names that ConfigMap).
 */
export function exitWorkload(obj: KubeObject, externalOriginal?: string): KubeObject {
  const saved = externalOriginal ?? obj.metadata?.annotations?.[ORIGINAL_ANNOTATION];
  if (typeof saved !== 'string') {
    throw new DevError('CORRUPT_DEV_STATE', `${objectRef(obj)} is marked as in dev mode but has no saved original`,
      'restore the workload from its source (helm, kustomize, git) and remove the dev.kubectl-dev.io label.', { object: objectRef(obj) });
  }
  return applyRestorableState(obj, parseRestorableState(saved, objectRef(obj)));
}

function exitOne(obj: KubeObject): KubeObject[] {
  if (obj.kind === 'List' && Array.isArray(obj.items)) {
    return [{ ...obj, items: (obj.items as unknown[]).flatMap((item) => (isPlainObject(item) ? exitOne(item as KubeObject) : [item as KubeObject])) }];
  }
  if (isGenerated(obj)) return [];
  if (isInDevMode(obj)) return [exitWorkload(obj)];
  return [obj];
}

/** Restores every workload in dev mode and drops what dev mode generated; other objects pass through. */
export function exit(objects: readonly KubeObject[]): KubeObject[] {
  return objects.flatMap((obj, index) => {
    try {
      return exitOne(obj);
    } catch (error) {
      throw error instanceof DevError ? error.locate({ document: index }) : error;
    }
  });
}
