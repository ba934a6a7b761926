// Where a workload's saved original lives: its annotation, or a ConfigMap when too large.

import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import { ORIGINAL_CONFIGMAP_ANNOTATION, ORIGINAL_CONFIGMAP_KEY } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';

/** The original of a workload in dev mode, read from wherever start kept it. */
export async function originalOf(obj: KubeObject, namespace: string, api: ClusterApi): Promise<KubeObject> {
  const configMapName = obj.metadata?.annotations?.[ORIGINAL_CONFIGMAP_ANNOTATION];
  if (configMapName === undefined) return exitWorkload(obj);
  const configMap = await api.get({ apiVersion: 'v1', kind: 'ConfigMap', name: configMapName, namespace });
  const text = (configMap?.data as Record<string, string> | undefined)?.[ORIGINAL_CONFIGMAP_KEY];
  if (text === undefined) {
    throw new DevError('CORRUPT_DEV_STATE', `${obj.kind}/${obj.metadata?.name} keeps its original in ConfigMap ${configMapName}, which is missing or empty`,
      'restore the workload from its source (helm, kustomize, git), then remove its dev.kubectl-dev.io labels and annotations.');
  }
  return exitWorkload(obj, text);
}
