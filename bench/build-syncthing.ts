// Builds the syncthing of the sidecar image (DEFAULT_SIDECAR_IMAGE's tag) from its Go
// module, for `node bench/sync.ts --sidecar-syncthing=PATH`: the tests and the benchmark
// otherwise run Debian's syncthing (1.19) as the sidecar, and versions differ in ways the
// benchmark sees (1.28 and later wait a second before they use a new connection).
//
//   node bench/build-syncthing.ts [--version=v1.29.2]    prints the binary's path
//
// The binary goes under the system's temp dir, not the test cache: the benchmark runs
// the sidecar as uid 1000 when it runs as root, and ~root is closed to that user.
// No container registry here: the module comes from the Go module proxy. Built with the
// `noassets` tag (no web GUI: the sidecar's is never used) and `noupgrade`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SIDECAR_IMAGE } from '../src/core/settings.ts';

const version = process.argv.find((a) => a.startsWith('--version='))?.slice('--version='.length)
  ?? `v${DEFAULT_SIDECAR_IMAGE.split(':').pop()}`;
if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`not a syncthing release: ${version} (want e.g. --version=v1.29.2)`);

const out = path.join(os.tmpdir(), 'kubectl-dev-bench', `syncthing-${version}`, 'syncthing');
if (!fs.existsSync(out)) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'syncthing-build-'));
  try {
    const go = (args: string[], cwd: string) => execFileSync('go', args, { cwd, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOWORK: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });
    const moduleDir = JSON.parse(go(['mod', 'download', '-json', `github.com/syncthing/syncthing@${version}`], work)).Dir as string;
    const src = path.join(work, 'src');
    fs.cpSync(moduleDir, src, { recursive: true });
    execFileSync('chmod', ['-R', 'u+w', src]);
    const tmp = `${out}.${process.pid}`;
    fs.mkdirSync(path.dirname(out), { recursive: true, mode: 0o755 });
    go(['build', '-trimpath', '-tags', 'noassets,noupgrade', '-ldflags', `-s -w -X github.com/syncthing/syncthing/lib/build.Version=${version}`, '-o', tmp, './cmd/syncthing'], src);
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
process.stderr.write(`${execFileSync(out, ['--version'], { encoding: 'utf8' }).trim()}\n`);
process.stdout.write(`${out}\n`);
