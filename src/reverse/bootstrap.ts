// How the agent gets into the pod and starts: one exec in the sync sidecar (it shares the
// pod's network namespace; its syncthing home is a writable emptyDir) runs a POSIX sh script
// that says what it has in one line, receives the agent as a tar when it has none of this
// checksum, and then execs it with the session's stdin and stdout. Pure: the script, the
// handshake and its answer, and the tar stream.

import { SYNCTHING_HOME } from '../core/settings.ts';
import { endOfArchive, padding, tarHeader } from '../sync/copy/tar.ts';

/** Where installed agents live in the sidecar: named by checksum, so a pod keeps one per version. */
export const AGENT_HOME = SYNCTHING_HOME;
export const HANDSHAKE_PREFIX = 'kubectl-dev-agent-handshake';
/** The commands the install needs besides sh (uname only tells the architecture; without it the pod's node does). */
export const INSTALL_NEEDS = ['tar', 'dd', 'mv'] as const;

/** The agent's file name in the sidecar for a checksum. */
export function agentFileName(sha256: string): string {
  return `kubectl-dev-agent-${sha256.slice(0, 16)}`;
}

const AGENT_NAME = /^kubectl-dev-agent-[0-9a-f]{16}$/;

/**
 * `sh -c SCRIPT sh DIR TMP PORT…`: one handshake line (the machine, the commands an install
 * lacks, the agents installed), then one line from kubectl-dev on stdin: `run NAME`, or
 * `install NAME LENGTH` followed by that many bytes of tar — dd stops at the length, so
 * nothing of the frames that follow is taken — unpacked into DIR/TMP and moved into place
 * (an atomic rename: a concurrent install never runs a half-written file); any other line
 * ends it. Then the agent replaces the shell, with the session's stdin and stdout.
 */
export const BOOTSTRAP_SCRIPT = [
  'd=$1; t=$2; shift 2',
  'a=$(uname -m 2>/dev/null) || a=',
  `m=; for c in ${INSTALL_NEEDS.join(' ')}; do command -v "$c" >/dev/null 2>&1 || m="$m,$c"; done`,
  'h=$(cd "$d" 2>/dev/null && echo kubectl-dev-agent-*)',
  `echo "${HANDSHAKE_PREFIX} arch=$a missing=\${m#,} have=$h"`,
  'read -r op n len || exit 0',
  'case "$n" in kubectl-dev-agent-*) ;; *) exit 0 ;; esac',
  'f="$d/$n"',
  'case "$op" in',
  '  run) ;;',
  '  install)',
  '    dd bs=65536 iflag=fullblock,count_bytes count="$len" 2>/dev/null | tar -x -o -f - -C "$d" || { echo "unpacking the agent failed" >&2; exit 93; }',
  '    if mv -f "$d/$t/$n" "$f" 2>/dev/null; then rmdir "$d/$t" 2>/dev/null; else f="$d/$t/$n"; fi ;;',
  '  *) exit 0 ;;',
  'esac',
  'exec "$f" serve "$@"',
].join('\n');

export function bootstrapCommand(tmpDir: string, ports: readonly number[]): string[] {
  return ['sh', '-c', BOOTSTRAP_SCRIPT, 'sh', AGENT_HOME, tmpDir, ...ports.map(String)];
}

export interface Handshake {
  /** `uname -m`; empty without uname. */
  machine: string;
  /** Commands an install needs that the sidecar lacks. */
  missing: string[];
  /** Agents installed in the sidecar (by file name). */
  have: string[];
}

/** The script's first line; undefined when it is not one (a shell that is not POSIX, another program). */
export function parseHandshake(line: string): Handshake | undefined {
  const match = new RegExp(`^${HANDSHAKE_PREFIX} arch=(\\S*) missing=(\\S*) have=(.*)$`).exec(line.trim());
  if (!match) return undefined;
  return { machine: match[1]!, missing: match[2]!.split(',').filter(Boolean), have: match[3]!.split(' ').filter((n) => AGENT_NAME.test(n)) };
}

/** What kubectl-dev answers the handshake with: run the installed agent, install it, or refuse (why). */
export function answerHandshake(handshake: Handshake, name: string, tarLength: number): { line: string; install: boolean } | { refuse: string } {
  if (handshake.have.includes(name)) return { line: `run ${name}\n`, install: false };
  if (handshake.missing.length > 0) return { refuse: `the sync sidecar's image has no ${handshake.missing.join(', ')}, which copying the reverse-forward agent into it needs` };
  return { line: `install ${name} ${tarLength}\n`, install: true };
}

/** The tar stream of the agent: `tmpDir/` and `tmpDir/NAME` (0755), ended as tar expects. */
export function agentTar(bytes: Buffer, sha256: string, tmpDir: string, mtimeMs: number): Buffer {
  const stat = { size: 0, mtimeMs, dev: 0n, ino: 0n };
  const dir = tarHeader({ rel: tmpDir, type: 'dir', ...stat }, 0o700);
  const file = tarHeader({ rel: `${tmpDir}/${agentFileName(sha256)}`, type: 'file', ...stat, size: bytes.length }, 0o755);
  const body = Buffer.concat([dir, file, bytes, Buffer.alloc(padding(bytes.length))]);
  return Buffer.concat([body, Buffer.alloc(endOfArchive(body.length))]);
}
