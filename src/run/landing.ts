// What has landed in the container: the sidecar syncthing's LocalIndexUpdated events
// name the paths it has just written into the work dir.

import type { Clock } from '../kube/clock.ts';
import type { SyncthingRest } from '../sync/rest.ts';
import { isSyncthingPath } from './ignored.ts';

const LANDED_EVENT = 'LocalIndexUpdated';

/** The sidecar's syncthing as the runner reads it. */
export type SidecarEvents = Pick<SyncthingRest, 'events' | 'recentEvents'>;

/** The id of the sidecar's latest landing event (0 when there is none yet). */
export async function latestLandingId(sidecar: SidecarEvents): Promise<number> {
  const events = await sidecar.recentEvents([LANDED_EVENT], 1);
  return events?.at(-1)?.id ?? 0;
}

export interface FollowLanding {
  sidecar: SidecarEvents;
  clock: Clock;
  folderId: string;
  /** Follow the events after this id. */
  since: number;
  /** Aborted: stop following. */
  signal: AbortSignal;
  /** Paths of the folder written in the container (syncthing's own files left out). */
  landed(paths: string[]): void;
}

/** Long-polls the sidecar's landing events until the signal aborts. */
export async function followLanding(follow: FollowLanding): Promise<void> {
  const { sidecar, signal } = follow;
  let since = follow.since;
  while (!signal.aborted) {
    try {
      const events = await sidecar.events(since, [LANDED_EVENT], 20);
      if (signal.aborted) return;
      const paths: string[] = [];
      for (const event of events ?? []) {
        since = Math.max(since, event.id);
        if (event.data?.folder !== follow.folderId) continue;
        paths.push(...((event.data?.filenames as string[] | undefined) ?? []).filter((p) => !isSyncthingPath(p)));
      }
      if (paths.length > 0) follow.landed(paths);
    } catch {
      if (signal.aborted) return;
      // A new sidecar (the dev pod was replaced) numbers its events from 1 again.
      await follow.clock.sleep(500, signal);
      since = await latestLandingId(sidecar).catch(() => since);
    }
  }
}
