// kustomize v5 for the tests that run kubectl-dev as a KRM exec function
// (`kubectl kustomize` cannot run exec functions). Built once with
// `go install sigs.k8s.io/kustomize/kustomize/v5@VERSION` into the test cache
// (<cache>/bin/kustomize-VERSION, outside the repository), then reused.
// $KUSTOMIZE points at an existing binary instead.
//
//   node test/tools/kustomize.ts     installs it and prints its path (for .ci/run)

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cacheDir } from '../cluster/build.lib.ts';

/** The newest v5 whose go.mod builds with Go 1.26 (v5.8.3 declares go 1.27). */
export const KUSTOMIZE_VERSION = 'v5.8.2';

export function kustomizePath(cache = cacheDir()): string {
  return path.join(cache, 'bin', `kustomize-${KUSTOMIZE_VERSION}`);
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes('v5.');
}

/** The path of a kustomize v5 binary, building it with `go install` the first time. */
export function kustomizeBinary(): string {
  if (process.env.KUSTOMIZE) return process.env.KUSTOMIZE;
  const out = kustomizePath();
  if (fs.existsSync(out) && works(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const gobin = fs.mkdtempSync(path.join(os.tmpdir(), 'kustomize-build-'));
  try {
    execFileSync('go', ['install', `sigs.k8s.io/kustomize/kustomize/v5@${KUSTOMIZE_VERSION}`], {
      env: { ...process.env, GOBIN: gobin, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(), CGO_ENABLED: '0' },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 15 * 60_000,
    });
    const tmp = `${out}.${process.pid}.tmp`;
    fs.copyFileSync(path.join(gobin, 'kustomize'), tmp);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out); // atomic: parallel workers may race here
  } finally {
    fs.rmSync(gobin, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(kustomizeBinary());
}
