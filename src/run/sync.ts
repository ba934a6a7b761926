// The sync a run uses: the session that already runs for the workload (another terminal,
// `sync --wait`), joined through its session file, or one run here for as long as the run.

import type { InitialStrategy } from '../sync/initial.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import type { DevError } from '../core/errors.ts';
import type { WorkloadKind } from '../core/kinds.ts';
import { displayRef } from '../live/objects.ts';
import { attachSession, recordedEnd, runSync, syncTargetOf, waitForSession, type SyncEvent } from '../sync/index.ts';
import { sessionEndedError } from '../sync/presence.ts';
import { realClock } from '../kube/clock.ts';
import { isAlive } from '../sync/process.ts';
import type { SyncthingRest } from '../sync/rest.ts';

export interface RunSync {
  local: SyncthingRest;
  /** The sidecar's REST (undefined: a joined session that does not publish it). */
  remote: SyncthingRest | undefined;
  folderId: string;
  sidecarDeviceId: string;
  /** The local synced directory. */
  localDir: string;
  waitInSync(ms: number): Promise<void>;
  /** Resolves when the sync stops on its own. */
  done: Promise<void>;
  /** Why the sync ended itself (its workload left dev mode elsewhere, or was deleted). */
  ended(): DevError | undefined;
}

export interface RunSyncRequest {
  ref: { kind: WorkloadKind; name: string; namespace: string };
  /** Sync settings, used when no sync runs for the workload yet. */
  sync: {
    localDir: string;
    twoWay: boolean;
    syncthingPath?: string;
    ignores: readonly string[];
    initial?: InitialStrategy;
    watcher?: 'syncthing';
    watcherDelayS?: number;
  };
}

export interface RunSyncIO {
  env: NodeJS.ProcessEnv;
  say(line: string): void;
  onSyncEvent?(event: SyncEvent): void;
  /** Registers what to undo when the run stops. */
  onStop(cleanup: () => Promise<void>): void;
}

export async function joinOrRunSync(request: RunSyncRequest, io: RunSyncIO, kc: KubeConfig): Promise<RunSync> {
  const { ref } = request;
  const target = syncTargetOf(kc, ref.namespace, ref.kind.kind, ref.name);
  const attached = attachSession(target, io.env);
  if (attached) {
    io.say(`using the sync already running for ${displayRef(ref)} (pid ${attached.pid}, ${attached.session.localDir})`);
    return {
      local: attached.local, remote: attached.remote, folderId: attached.session.folderId, sidecarDeviceId: attached.session.sidecarDeviceId,
      localDir: attached.session.localDir,
      waitInSync: async (ms) => void await waitForSession(target, io.env, { timeoutMs: ms }),
      // That session ending (kubectl dev end, Ctrl-C in its terminal) ends this run too.
      done: whenEnded(attached.pid, io),
      // An attached session that ended itself wrote why into its session file.
      ended: () => recordedEnd(target, io.env),
    };
  }
  const { sync } = request;
  const handle = await runSync({
    namespace: ref.namespace, kind: ref.kind.kind, name: ref.name, localDir: sync.localDir, twoWay: sync.twoWay,
    ignores: sync.ignores,
    ...(sync.initial !== undefined ? { initial: sync.initial } : {}),
    ...(sync.syncthingPath !== undefined ? { syncthingPath: sync.syncthingPath } : {}),
    ...(sync.watcher ? { watcher: sync.watcher, watcherDelayS: sync.watcherDelayS ?? 1 } : {}),
  }, { kc, env: io.env, ...(io.onSyncEvent ? { onEvent: io.onSyncEvent } : {}) });
  io.onStop(() => handle.stop());
  io.say(`syncing ${sync.localDir} → ${displayRef(ref)}:${handle.material.workdir} (${sync.twoWay ? 'two-way after the initial sync' : 'send-only'}; syncthing ${handle.binary.version})`);
  return {
    local: handle.local, remote: handle.remote, folderId: handle.material.folderId, sidecarDeviceId: handle.material.sidecarDeviceId,
    localDir: sync.localDir,
    waitInSync: async (ms) => void await handle.waitInSync(ms),
    done: handle.done,
    ended: () => {
      const end = handle.ended();
      return end ? sessionEndedError(end, ref.kind.kind, ref.name, ref.namespace) : undefined;
    },
  };
}

/** Resolves once the joined session's process is gone (looked at every second, until the run stops). */
function whenEnded(pid: number, io: RunSyncIO): Promise<void> {
  const stopped = new AbortController();
  io.onStop(async () => stopped.abort());
  return new Promise<void>((resolve) => {
    void (async () => {
      while (!stopped.signal.aborted) {
        await realClock.sleep(1_000, stopped.signal);
        if (stopped.signal.aborted || isAlive(pid)) continue;
        io.say(`the sync session (pid ${pid}) has ended; stopping`);
        resolve();
        return;
      }
    })();
  });
}
