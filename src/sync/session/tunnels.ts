// The two tunnels to the dev pod's sidecar (syncthing's sync port and its REST port,
// each a local listener that port-forwards every connection to the current dev pod)
// and the finder of that pod, which both share.

import type { KubeConfig } from '@kubernetes/client-node';
import { WORKLOAD_LABEL } from '../../core/marks.ts';
import { workloadLabelValue } from '../../core/names.ts';
import { SYNCTHING_API_PORT, SYNCTHING_SYNC_PORT } from '../../core/settings.ts';
import { clientNodePortForward, PodPortForwarder, type PodFinder, type PortForwardFn } from '../../kube/port-forward.ts';
import { LabelPodFinder } from '../dev-pod-finder.ts';
import type { ClusterApi } from '../../kube/api.ts';
import type { Clock } from '../process.ts';

export interface Tunnels {
  readonly finder: PodFinder;
  /** To the sidecar's sync port: the local syncthing dials it. */
  readonly sync: PodPortForwarder;
  /** To the sidecar's REST API. */
  readonly api: PodPortForwarder;
  readonly syncPort: number;
  readonly apiPort: number;
  close(): Promise<void>;
}

export interface TunnelOptions {
  kc: KubeConfig;
  /** Lists the pods of the workload (the default finder). */
  cluster: Pick<ClusterApi, 'list'>;
  namespace: string;
  kind: string;
  name: string;
  clock: Clock;
  portForward?: PortForwardFn;
  podFinder?: PodFinder;
  /** A problem reaching the sync port (the session's last error). */
  onError: (message: string) => void;
  debug: (message: string) => void;
}

export async function openTunnels(o: TunnelOptions): Promise<Tunnels> {
  const portForward = o.portForward ?? clientNodePortForward(o.kc);
  const finder = o.podFinder ?? new LabelPodFinder(o.cluster, o.namespace, `${WORKLOAD_LABEL}=${workloadLabelValue(o.kind, o.name)}`);
  const sync = new PodPortForwarder({ namespace: o.namespace, podPort: SYNCTHING_SYNC_PORT, finder, portForward, clock: o.clock, holdMs: 8_000, replayUntilAnswer: true, events: { onError: o.onError, onDebug: o.debug } });
  const api = new PodPortForwarder({ namespace: o.namespace, podPort: SYNCTHING_API_PORT, finder, portForward, clock: o.clock, holdMs: 2_000, events: { onDebug: o.debug } });
  const syncPort = await sync.listen();
  let apiPort: number;
  try {
    apiPort = await api.listen();
  } catch (error) {
    await sync.close();
    throw error;
  }
  return {
    finder, sync, api, syncPort, apiPort,
    close: async () => {
      await Promise.all([sync.close(), api.close()]);
    },
  };
}

/** Not connected: the dev pod now (both tunnels look it up again on their next connection). */
export async function lookForDevPod(t: Tunnels): Promise<string | undefined> {
  t.sync.invalidate();
  t.api.invalidate();
  return (await t.finder.find())?.name;
}
