// What live mode needs from the outside world, passed in (tests pass real ones).

import type { KubeObject } from '../core/objects.ts';
import type { ClusterApi } from '../kube/api.ts';
import { realClock, type Clock } from '../kube/clock.ts';

export { realClock, type Clock };

export interface Progress {
  /** A step that may take a while has started. */
  start(text: string): void;
  /** The current step finished. */
  succeed(text?: string): void;
  /** A one-line note. */
  note(text: string): void;
}

export const silentProgress: Progress = { start() {}, succeed() {}, note() {} };

/**
 * Makes the Secret the sync sidecar reads (config.xml, cert.pem, key.pem) for a workload entering
 * dev mode. With `existing` (a Secret already there): that Secret's contents when it is valid and
 * for this work dir, else a new one.
 */
export type SyncSecretFactory = (request: { workload: KubeObject; secretName: string; namespace: string; workdir: string; existing?: KubeObject }) => Promise<KubeObject>;

export interface LiveDeps {
  api: ClusterApi;
  clock: Clock;
  progress: Progress;
  /**
   * Called right before every step that changes the cluster, with the step's name. The CLI
   * counts them and uses the count for fault injection (KUBECTL_DEV_CRASH_AT_STEP=N).
   */
  checkpoint(name: string): void;
  syncSecret: SyncSecretFactory;
  /** This machine's host name (read at the CLI edge): recorded with the user as who holds dev mode. */
  host?: string;
}
