// The syncthing builds the tests need, from the syncthing Go module (scripts/syncthing.ts):
//
//   sidecarSyncthingBinary()  the sidecar image's syncthing (DEFAULT_SIDECAR_IMAGE's tag,
//                             1.29.2), also the one kubectl-dev embeds: the local side of every
//                             sync test and the test cluster's sidecar image;
//   olderSyncthingBinary()    a syncthing older than 1.28 (the product's behaviour switches
//                             there: 1.28 and later use a new connection only a second after it
//                             came up), for the "sidecar older than 1.28" image.
//
// Built once each (static, tags noassets,noupgrade) and kept under the system's temp dir, not
// the test cache: the tests run the sidecar as uid 1000 when they run as root, and ~root is
// closed to that user.
//
//   node test/tools/syncthing.ts     builds both and prints their paths (for .ci/run)

import { buildSyncthing, SYNCTHING_VERSION, syncthingBuildPath } from '../../scripts/syncthing.ts';

export const SIDECAR_SYNCTHING_VERSION = SYNCTHING_VERSION;

export function sidecarSyncthingPath(): string {
  return syncthingBuildPath({ version: SIDECAR_SYNCTHING_VERSION, platform: 'linux-x64' });
}

/** The path of the sidecar image's syncthing (linux-x64), building it the first time. */
export function sidecarSyncthingBinary(): string {
  return buildSyncthing({ version: SIDECAR_SYNCTHING_VERSION, platform: 'linux-x64' });
}

/**
 * The older syncthing: v1.19.2 — Debian 12's version, which the older-sidecar image
 * `kubectl-dev.test/syncthing:1.19.2` was made of — built from its Go module with this
 * machine's Go (1.26 builds it as it is: its quic-go is not compiled in, see below).
 */
export const OLDER_SYNCTHING_VERSION = 'v1.19.2';
export const OLDER_SYNCTHING_TAGS = ['noassets', 'noupgrade', 'noquic'] as const;

/** The path of the older syncthing (linux-x64, < 1.28), building it the first time. */
export function olderSyncthingBinary(): string {
  return buildSyncthing({ version: OLDER_SYNCTHING_VERSION, platform: 'linux-x64', tags: OLDER_SYNCTHING_TAGS });
}

if (import.meta.main) {
  console.log(sidecarSyncthingBinary());
  console.log(olderSyncthingBinary());
}
