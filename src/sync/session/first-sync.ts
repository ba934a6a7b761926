// The first sync when the laptop and the container both have files (`--initial`, initial.ts):
// before the sidecar connects (the initial copy's hold), the folders take the roles the strategy
// asks for; once connected, `remote` makes the container's state the global one (override);
// once both sides are settled, the folders go back to the session's roles.

import { firstSyncSettled, SESSION_ROLES, type FolderRole, type InitialPlan } from '../initial.ts';
import type { Clock } from '../process.ts';
import type { SyncthingRest } from '../rest.ts';
import { snapshot, type SyncSnapshot } from '../status.ts';
import { copyIgnoresTo } from './sidecar.ts';

const POLL_MS = 250;

export interface FirstSyncOptions {
  plan: InitialPlan;
  local: SyncthingRest;
  remote: SyncthingRest;
  folderId: string;
  sidecarDeviceId: string;
  localDeviceId: string;
  clock: Clock;
  signal: AbortSignal;
  debug: (message: string) => void;
}

const roleOf = (role: FolderRole) => ({ type: role.type, maxConflicts: role.maxConflicts });

async function until(o: FirstSyncOptions, what: string, check: () => Promise<boolean>): Promise<boolean> {
  while (!o.signal.aborted) {
    if (await check().catch(() => false)) return true;
    await o.clock.sleep(POLL_MS, o.signal).catch(() => undefined);
  }
  o.debug(`first sync: stopped while waiting for ${what}`);
  return false;
}

/**
 * Before the sidecar connects: its ignores (so its first index leaves out what the laptop
 * ignores), then both folders' roles. A folder that leaves receive-only rescans and drops the
 * receive-only flag of what it has (those versions would otherwise lose every conflict): the
 * hold lasts until that scan is done.
 */
export async function prepareFirstSync(o: FirstSyncOptions): Promise<void> {
  const during = o.plan.during;
  if (!during) return;
  await copyIgnoresTo(o.local, o.remote, o.folderId);
  await o.remote.patchFolder(o.folderId, roleOf(during.sidecar));
  // remote: the laptop stays send-only until the container's state is the global one (then receives).
  if (o.plan.strategy !== 'remote') await o.local.patchFolder(o.folderId, roleOf(during.local));
  // A scan of the restarted folder (one that fails while it restarts is asked again), until no file keeps the flag.
  await until(o, "the sidecar's rescan", async () => {
    await o.remote.scan(o.folderId);
    return ((await o.remote.localChanged(o.folderId)).files ?? []).length === 0;
  });
  o.debug(`first sync (${o.plan.strategy}): the sidecar is ${during.sidecar.type}, the laptop ${o.plan.strategy === 'remote' ? 'sendonly until the override' : during.local.type}`);
}

async function look(o: FirstSyncOptions): Promise<SyncSnapshot> {
  return snapshot({ local: o.local, remote: o.remote, folderId: o.folderId, sidecarDeviceId: o.sidecarDeviceId, localDeviceId: o.localDeviceId });
}

/** Both sides settled twice in a row: a conflict copy the last pull made is scanned and sent between two looks. */
async function settle(o: FirstSyncOptions): Promise<boolean> {
  let settledLooks = 0;
  return until(o, 'both sides to be settled', async () => {
    settledLooks = firstSyncSettled(await look(o)) ? settledLooks + 1 : 0;
    return settledLooks >= 2;
  });
}

/** Once connected: the override (remote), the wait until both sides are settled, and the session's roles back. */
export async function finishFirstSync(o: FirstSyncOptions): Promise<boolean> {
  const during = o.plan.during;
  if (!during) return true;
  if (o.plan.strategy === 'remote') {
    // The sidecar must know the laptop's whole index, or the override would not delete what only the laptop has.
    const known = await until(o, "the sidecar to have the laptop's index", async () => {
      const s = await look(o);
      return s.connected && s.remote?.state === 'idle' && s.local !== undefined && (s.remoteHasLocalSequence ?? -1) >= s.local.sequence;
    });
    if (!known) return false;
    // What the sidecar lacks or has otherwise is what the override changes: its sequence moves once it is recorded.
    const before = await o.remote.dbStatus(o.folderId);
    if (before.needTotalItems > 0) {
      await o.remote.override(o.folderId);
      await until(o, 'the override to be recorded', async () => {
        const now = await o.remote.dbStatus(o.folderId);
        return now.sequence > before.sequence && now.state === 'idle';
      });
    }
    // The laptop receives only once it has the overriding versions (else it would pull older ones in conflict first).
    const overridden = (await o.remote.dbStatus(o.folderId)).sequence;
    await until(o, 'the laptop to have the override', async () => ((await o.local.completion(o.folderId, o.sidecarDeviceId)).sequence ?? -1) >= overridden);
    await o.local.patchFolder(o.folderId, roleOf(during.local));
    o.debug('first sync (remote): the sidecar overrode the global state; the laptop receives');
  }
  if (!(await settle(o))) return false;
  // remote: a file changed on both sides that the override did not touch (the container's was already the
  // global one) came in as a conflict, and its laptop version stayed as a conflict copy: a receive-only
  // change, which the revert moves into the versions dir like everything else the container replaced.
  if (o.plan.strategy === 'remote' && ((await o.local.localChanged(o.folderId)).files ?? []).length > 0) {
    await o.local.revert(o.folderId);
    if (!(await settle(o))) return false;
  }
  await o.remote.patchFolder(o.folderId, roleOf(SESSION_ROLES.sidecar));
  await o.local.patchFolder(o.folderId, roleOf(SESSION_ROLES.local));
  o.debug(`first sync (${o.plan.strategy}) done: the folders are send-only (laptop) and receive-only (container) again`);
  return true;
}

