// What the first sync with a dev pod does when the laptop and the container both already
// have files (a persisted work dir, a sidecar that synced before): `--initial`. Pure: the
// folder types and conflict-copy limits the first sync runs with, and when it is over.
//
// syncthing decides a conflict (the same file changed on both sides, concurrent versions) by
// FileInfo.WinsConflict: a receive-only folder's own change always loses (it is "invalid" to
// the others); otherwise the newer modification time wins, a tie goes to the larger device ID.
// The loser is renamed `name.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.ext`, or removed when the
// folder's maxConflicts is 0 (lib/model/folder_sendrecv.go, syncthing 1.29.2).

import { DevError } from '../core/errors.ts';
import type { FolderType } from './config.ts';
import type { SyncSnapshot } from './status.ts';

export const INITIAL_STRATEGIES = ['local', 'remote', 'newest', 'keep-both'] as const;
export type InitialStrategy = (typeof INITIAL_STRATEGIES)[number];

/** Conflict copies the session's folders keep (config.ts's maxConflicts). */
export const SESSION_MAX_CONFLICTS = 10;

export interface FolderRole {
  type: FolderType;
  maxConflicts: number;
}

/** How the first sync runs: the two folders' roles while it runs; undefined: as the session always runs. */
export interface InitialPlan {
  strategy: InitialStrategy;
  during?: { local: FolderRole; sidecar: FolderRole };
}

/**
 * - local: the session's own types (the laptop send-only, the container receive-only): the
 *   laptop's version wins every conflict (the container's change is receive-only, so it loses).
 * - remote: the laptop receive-only, the container send-only: the container's version wins;
 *   syncthing keeps the laptop's as a conflict copy beside it.
 * - newest: both send-receive, no conflict copies: the newer modification time wins, the older
 *   version is gone on both sides.
 * - keep-both: both send-receive with conflict copies: the newer version wins and the older is
 *   kept as `*.sync-conflict-*`, which then syncs to the other side too.
 */
export function initialPlan(strategy: InitialStrategy): InitialPlan {
  const role = (type: FolderType, maxConflicts = SESSION_MAX_CONFLICTS): FolderRole => ({ type, maxConflicts });
  switch (strategy) {
    case 'local':
      return { strategy };
    case 'remote':
      return { strategy, during: { local: role('receiveonly'), sidecar: role('sendonly') } };
    case 'newest':
      return { strategy, during: { local: role('sendreceive', 0), sidecar: role('sendreceive', 0) } };
    case 'keep-both':
      return { strategy, during: { local: role('sendreceive'), sidecar: role('sendreceive') } };
  }
}

/** The roles the session's folders go back to once the first sync is over (two-way then switches on its own, as always). */
export const SESSION_ROLES: { local: FolderRole; sidecar: FolderRole } = {
  local: { type: 'sendonly', maxConflicts: SESSION_MAX_CONFLICTS },
  sidecar: { type: 'receiveonly', maxConflicts: SESSION_MAX_CONFLICTS },
};

export function parseInitialStrategy(value: string, where: string): InitialStrategy {
  if ((INITIAL_STRATEGIES as readonly string[]).includes(value)) return value as InitialStrategy;
  throw new DevError('INVALID_OPTION', `${where}: "${value}" is not an initial sync strategy`,
    `use one of ${INITIAL_STRATEGIES.join(', ')} (what the first sync does when the laptop and the container both have files).`);
}

/**
 * The first sync is over when each side has the other's whole index and needs nothing, and both
 * are idle (a conflict copy made by the last pull has been scanned and sent by then).
 */
export function firstSyncSettled(s: SyncSnapshot): boolean {
  const { local, remote, remoteCompletion } = s;
  if (!s.connected || !local || !remote || !remoteCompletion) return false;
  return local.state === 'idle' && remote.state === 'idle'
    && local.needTotalItems === 0 && remote.needTotalItems === 0
    && (remoteCompletion.sequence ?? -1) >= remote.sequence
    && (s.remoteHasLocalSequence ?? -1) >= local.sequence;
}
