// Whether a workload that dev mode took over is still in dev mode, or another field manager
// reverted it (core/revert.ts decides), with its saved original read from wherever start kept it.

import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import { ORIGINAL_ANNOTATION, ORIGINAL_CONFIGMAP_ANNOTATION, ORIGINAL_CONFIGMAP_KEY, SINCE_ANNOTATION } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { checkDevMode, type DevModeCheck } from '../core/revert.ts';
import type { ClusterApi } from '../kube/api.ts';

/** The saved original, or undefined when its marks are gone or damaged (a revert may have taken them). */
export async function savedOriginal(current: KubeObject, namespace: string, api: Pick<ClusterApi, 'get'>): Promise<KubeObject | undefined> {
  const annotations = current.metadata?.annotations ?? {};
  try {
    const configMapName = annotations[ORIGINAL_CONFIGMAP_ANNOTATION];
    if (configMapName !== undefined) {
      const configMap = await api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: configMapName, namespace });
      const text = (configMap?.data as Record<string, string> | undefined)?.[ORIGINAL_CONFIGMAP_KEY];
      return text === undefined ? undefined : exitWorkload(current, text);
    }
    return annotations[ORIGINAL_ANNOTATION] === undefined ? undefined : exitWorkload(current);
  } catch (error) {
    if (error instanceof DevError && error.code === 'CORRUPT_DEV_STATE') return undefined;
    throw error;
  }
}

/** The check of one workload; `since` (the sync Secret's) stands in when the workload's own mark is gone. */
export async function readDevModeCheck(current: KubeObject, kind: WorkloadKind, namespace: string, api: Pick<ClusterApi, 'get'>, since?: string): Promise<{ check: DevModeCheck; original?: KubeObject }> {
  const original = await savedOriginal(current, namespace, api);
  const when = current.metadata?.annotations?.[SINCE_ANNOTATION] ?? since;
  const check = checkDevMode(current, kind, { ...(original ? { original } : {}), ...(when !== undefined ? { since: when } : {}) });
  return original ? { check, original } : { check };
}
