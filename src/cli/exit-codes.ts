// The only place that turns error codes into process exit codes (documented in README.md).

import type { ErrorCode } from '../core/errors.ts';

export const EXIT = {
  ok: 0,
  /** Something failed that fits no other class (a bug). */
  failure: 1,
  /** The command line was wrong: unknown flag, missing argument, bad option value, bad dev config. */
  usage: 2,
  /** The input or the workload cannot be put in (or out of) dev mode: bad manifests, unsupported kind, container, not found. */
  input: 3,
  /** The cluster could not be used: kubeconfig, unreachable, credentials, permissions, timeouts. */
  cluster: 4,
  /** The workload's state stops the command: changed concurrently, edited or reverted in dev mode, other settings, damaged marks. */
  state: 5,
  /** The dev pod or the sync failed: the pod did not come up, syncthing failed or is missing. */
  runtime: 6,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'INVALID_OPTION':
    case 'PORT_IN_USE':
      return EXIT.usage;
    case 'KUBECONFIG_INVALID':
    case 'UNREACHABLE':
    case 'UNAUTHORIZED':
    case 'FORBIDDEN':
    case 'TIMEOUT':
    case 'API_ERROR':
      return EXIT.cluster;
    case 'CONFLICT':
    case 'DRIFT':
    case 'DEV_MODE_REVERTED':
    case 'ALREADY_IN_DEV_MODE':
    case 'HELD_BY_OTHER':
    case 'CORRUPT_DEV_STATE':
    case 'SYNC_ALREADY_RUNNING':
      return EXIT.state;
    case 'POD_FAILED':
    case 'SYNCTHING_NOT_FOUND':
    case 'SYNCTHING_TOO_OLD':
    case 'SYNCTHING_FAILED':
    case 'SYNC_NO_POD':
    case 'SYNC_REMOTE_ERROR':
    case 'SYNC_TIMEOUT':
    case 'RUN_FAILED':
    case 'REVERSE_UNAVAILABLE':
    case 'REVERSE_FAILED':
      return EXIT.runtime;
    case 'INVALID_YAML':
    case 'NOT_AN_OBJECT':
    case 'UNSUPPORTED_KIND':
    case 'CONTAINER_NOT_FOUND':
    case 'CONTAINER_AMBIGUOUS':
    case 'NO_CONTAINERS':
    case 'VOLUME_COLLISION':
    case 'MOUNT_COLLISION':
    case 'OWNED_POD':
    case 'NODE_CRITICAL':
    case 'GITOPS_MANAGED':
    case 'ORIGINAL_TOO_LARGE':
    case 'SELECTION_EMPTY':
    case 'INVALID_INPUT':
    case 'NOT_FOUND':
    case 'INVALID_OBJECT':
    case 'SYNC_NOT_IN_DEV_MODE':
    case 'SYNC_SECRET_INVALID':
    case 'SYNC_LOCAL_DIR':
      return EXIT.input;
  }
}
