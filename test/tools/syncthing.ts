// The syncthing of the sidecar image (DEFAULT_SIDECAR_IMAGE's tag, 1.29.2), for the tests
// and the benchmark that need it as the sidecar: apt gives Debian's 1.19, and 1.28 and later
// use a new connection only a second after it came up, which the session works around.
// Built from its Go module (no container registry here) with the `noassets` tag (no web
// GUI: the sidecar's is never used) and `noupgrade`, once, then reused.
//
// The binary lives under the system's temp dir, not the test cache: the tests run the sidecar
// as uid 1000 when they run as root, and ~root is closed to that user.
//
//   node test/tools/syncthing.ts     builds it and prints its path (for .ci/run)

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SIDECAR_IMAGE } from '../../src/core/settings.ts';

export const SIDECAR_SYNCTHING_VERSION = `v${DEFAULT_SIDECAR_IMAGE.split(':').pop()}`;

export function sidecarSyncthingPath(): string {
  return path.join(os.tmpdir(), 'kubectl-dev-test-tools', `syncthing-${SIDECAR_SYNCTHING_VERSION}`, 'syncthing');
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes(`syncthing ${SIDECAR_SYNCTHING_VERSION} `);
}

/** The path of the sidecar image's syncthing, building it the first time. */
export function sidecarSyncthingBinary(): string {
  const out = sidecarSyncthingPath();
  if (fs.existsSync(out) && works(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o755 });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'syncthing-build-'));
  try {
    const go = (args: string[], cwd: string) => execFileSync('go', args, {
      cwd, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off', CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'inherit'], timeout: 15 * 60_000,
    });
    const moduleDir = JSON.parse(go(['mod', 'download', '-json', `github.com/syncthing/syncthing@${SIDECAR_SYNCTHING_VERSION}`], work)).Dir as string;
    const src = path.join(work, 'src');
    fs.cpSync(moduleDir, src, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', src]);
    const tmp = `${out}.${process.pid}.tmp`;
    go(['build', '-trimpath', '-tags', 'noassets,noupgrade', '-ldflags', `-s -w -X github.com/syncthing/syncthing/lib/build.Version=${SIDECAR_SYNCTHING_VERSION}`, '-o', tmp, './cmd/syncthing'], src);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out); // atomic: parallel workers may race here
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (!works(out)) throw new Error(`the syncthing built at ${out} does not report ${SIDECAR_SYNCTHING_VERSION}`);
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(sidecarSyncthingBinary());
}
