// Whether a sync session's workload is still in dev mode as the session knows it, decided
// from what two GETs saw: the workload and its sync Secret. `kubectl dev end` on another
// machine restores the workload (the dev-mode label goes) and then deletes the Secret; a
// deleted workload or namespace answers 404. Another field manager (GitOps, `kubectl apply`, Helm)
// may revert dev mode without removing its label: core/revert.ts tells. Only an answer of the API server ends a
// session: an error (unreachable, a timeout, 5xx, 403) tells nothing about the workload.
// Pure: the session reads, this decides.

import { isInDevMode } from '../core/enter.ts';
import { DevError } from '../core/errors.ts';
import { exitWorkload } from '../core/exit.ts';
import { isPodKind, workloadKindByName } from '../core/kinds.ts';
import { ORIGINAL_ANNOTATION, SINCE_ANNOTATION } from '../core/marks.ts';
import type { KubeObject } from '../core/objects.ts';
import { checkDevMode, revertedText, type DevModeCheck } from '../core/revert.ts';
import { SECRET_KEY_LOCAL_CERT } from './secret.ts';
import type { SessionEnd } from './state.ts';

/** What one GET saw: the object, a 404, or an error that tells nothing about the object. */
export type Seen = { object: KubeObject } | { absent: true } | { failed: string };

export interface PresenceInput {
  /** Canonical kind ("Deployment") and name of the workload. */
  kind: string;
  name: string;
  namespace: string;
  secretName: string;
  workload: Seen;
  secret: Seen;
  /** The laptop's certificate this session runs with (from the Secret it read when it started). */
  localCertPem: string;
  /** Checks in a row just before this one that found the Secret gone while the workload was in dev mode. */
  secretMissing: number;
  /** The saved original's JSON when start kept it in a ConfigMap (the session reads it). */
  originalText?: string;
}

export interface PresenceVerdict {
  /** Set when the session must end. */
  end?: Omit<SessionEnd, 'at'>;
  /** The check told nothing this time (why, for the debug log). */
  unknown?: string;
  /** For the next check's `secretMissing`. */
  secretMissing: number;
}

/**
 * A Secret gone while the workload is still in dev mode is an `end` under way (it deletes the
 * Secret after the restore), or a deletion by hand: the next check tells which reason to give.
 */
export const SECRET_MISSING_CHECKS = 2;

const deleting = (obj: KubeObject) => typeof obj.metadata?.deletionTimestamp === 'string';

/** Whether another field manager reverted the workload; undefined when it cannot be told (an unknown kind, a damaged original). */
function revertCheck(input: PresenceInput, workload: KubeObject): DevModeCheck | undefined {
  const kind = workloadKindByName(input.kind);
  if (!kind) return undefined;
  let original: KubeObject | undefined;
  try {
    if (input.originalText !== undefined) original = exitWorkload(workload, input.originalText);
    else if (workload.metadata?.annotations?.[ORIGINAL_ANNOTATION] !== undefined) original = exitWorkload(workload);
  } catch {
    return undefined;
  }
  const secretSince = 'object' in input.secret ? input.secret.object.metadata?.annotations?.[SINCE_ANNOTATION] : undefined;
  const since = workload.metadata?.annotations?.[SINCE_ANNOTATION] ?? secretSince;
  return checkDevMode(workload, kind, { ...(original ? { original } : {}), ...(since !== undefined ? { since } : {}) });
}

export function presenceVerdict(input: PresenceInput): PresenceVerdict {
  const what = `${input.kind.toLowerCase()}/${input.name}`;
  const { workload, secret } = input;
  if ('failed' in workload) return { unknown: `reading ${what}: ${workload.failed}`, secretMissing: input.secretMissing };
  if ('absent' in workload) {
    // `end` of a Pod deletes it and creates the original again.
    const kind = workloadKindByName(input.kind);
    const reason = kind && isPodKind(kind)
      ? `${what} was deleted or replaced (kubectl dev end elsewhere?)`
      : `${what} was deleted (it is not in namespace ${input.namespace} any more)`;
    return { end: { cause: 'deleted', reason }, secretMissing: 0 };
  }
  if (deleting(workload.object)) return { end: { cause: 'deleted', reason: `${what} is being deleted` }, secretMissing: 0 };
  const check = revertCheck(input, workload.object);
  if (check?.state === 'reverted') return { end: { cause: 'reverted', reason: `${what} was ${revertedText(check)}` }, secretMissing: 0 };
  if (!isInDevMode(workload.object)) return { end: { cause: 'left-dev-mode', reason: `${what} left dev mode (kubectl dev end elsewhere?)` }, secretMissing: 0 };
  if ('failed' in secret) return { unknown: `reading Secret ${input.secretName}: ${secret.failed}`, secretMissing: input.secretMissing };
  if ('absent' in secret || deleting(secret.object)) {
    const missing = input.secretMissing + 1;
    if (missing < SECRET_MISSING_CHECKS) return { unknown: `Secret ${input.secretName} is gone; ${what} is still in dev mode`, secretMissing: missing };
    return { end: { cause: 'secret-deleted', reason: `the sync Secret ${input.secretName} of ${what} was deleted` }, secretMissing: missing };
  }
  const data = secret.object.data as Record<string, unknown> | undefined;
  const cert = typeof data?.[SECRET_KEY_LOCAL_CERT] === 'string' ? Buffer.from(data[SECRET_KEY_LOCAL_CERT] as string, 'base64').toString('utf8') : undefined;
  if (cert !== input.localCertPem) {
    // New identities: the sidecar of the new dev mode accepts no device but the new one.
    return { end: { cause: 'secret-replaced', reason: `${what} entered dev mode again with a new sync Secret (kubectl dev end and start elsewhere?)` }, secretMissing: 0 };
  }
  return { secretMissing: 0 };
}

/** The error a session that ended itself leaves its command with (the CLI turns it into exit code 3). */
export function sessionEndedError(end: Pick<SessionEnd, 'cause' | 'reason'>, kind: string, name: string, namespace: string): DevError {
  const what = `${kind.toLowerCase()}/${name}`;
  const message = `sync ended: ${end.reason}`;
  switch (end.cause) {
    case 'deleted':
      return new DevError('NOT_FOUND', message, `nothing is left to sync into; kubectl dev status -n ${namespace} shows what is in dev mode.`);
    case 'left-dev-mode':
      return new DevError('SYNC_NOT_IN_DEV_MODE', message, `to sync again, start dev mode again: kubectl dev start ${what} -n ${namespace}`);
    case 'reverted':
      return new DevError('DEV_MODE_REVERTED', message,
        `kubectl dev end ${what} -n ${namespace} removes what dev mode left and keeps that change; to work on it again, stop whatever reverts it (a GitOps sync, a pipeline) and run kubectl dev start ${what} -n ${namespace}.`);
    case 'secret-deleted':
      return new DevError('SYNC_NOT_IN_DEV_MODE', message, `end dev mode and start it again for a new Secret: kubectl dev end ${what} -n ${namespace}, then kubectl dev start ${what} -n ${namespace}`);
    case 'secret-replaced':
      return new DevError('SYNC_NOT_IN_DEV_MODE', message, `run kubectl dev sync ${what} -n ${namespace} again: it takes the new Secret.`);
  }
}
