// rcodesign (the apple-codesign crate, crates.io): Apple code signing implemented in Rust, on
// Linux. The macOS binaries get an ad-hoc signature with it (`rcodesign sign FILE`, no
// certificate): what macOS on Apple Silicon requires for any executable to start, and what
// `codesign --sign -` makes on a Mac. Built once with cargo (about 10 minutes on 2 cores;
// without the notarization feature, which the ad-hoc signature does not use), kept under
// <tmp>/kubectl-dev-test-tools/rcodesign-<version>/bin/rcodesign.
//
//   node scripts/rcodesign.ts       builds it if missing, prints its path

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const RCODESIGN_VERSION = '0.29.0';

export function rcodesignPath(): string {
  return path.join(os.tmpdir(), 'kubectl-dev-test-tools', `rcodesign-${RCODESIGN_VERSION}`, 'bin', 'rcodesign');
}

function works(bin: string): boolean {
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  return r.status === 0 && r.stdout.includes(`apple-codesign ${RCODESIGN_VERSION}`);
}

export function rcodesignBinary(): string {
  const bin = rcodesignPath();
  if (fs.existsSync(bin) && works(bin)) return bin;
  const root = path.dirname(path.dirname(bin));
  process.stderr.write(`rcodesign: building apple-codesign ${RCODESIGN_VERSION} with cargo into ${root} (once)\n`);
  execFileSync('cargo', ['install', `apple-codesign@${RCODESIGN_VERSION}`, '--locked', '--no-default-features', '--root', root, '--target-dir', `${root}-build`], {
    stdio: ['ignore', 'inherit', 'inherit'], timeout: 60 * 60_000,
  });
  fs.rmSync(`${root}-build`, { recursive: true, force: true });
  if (!works(bin)) throw new Error(`${bin} does not report apple-codesign ${RCODESIGN_VERSION}`);
  return bin;
}

if (import.meta.main) console.log(rcodesignBinary());
