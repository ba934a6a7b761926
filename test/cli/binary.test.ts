// The single executable, copied alone into an empty directory (no node_modules, no Node on
// PATH; a syncthing in /usr/bin is passed over for its own), runs the CLI's smoke cases exactly as the bundled CLI does, and carries
// its own syncthing. (test/e2e/install-paths.test.ts syncs with it against the test cluster.)

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { SYNCTHING_VERSION } from '../../scripts/syncthing.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBinary } from './binary-support.ts';
import { ROOT, runCli } from './run-cli.ts';

describe('dist/kubectl-dev (Node SEA)', () => {
  let dir: string;
  let exe: string;

  const run = (args: string[], stdin = '') => {
    const result = spawnSync(exe, args, {
      cwd: dir, input: stdin, encoding: 'utf8', timeout: 30_000,
      // Nothing from this project or its Node: no PATH entries, no NODE_* settings.
      env: { PATH: '/usr/bin:/bin', HOME: dir, NO_COLOR: '1', KUBECONFIG: join(dir, 'no-kubeconfig') },
    });
    if (result.error) throw result.error;
    return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
  };

  beforeAll(async () => {
    const built = await ensureBinary();
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-binary-'));
    exe = join(dir, 'kubectl-dev');
    copyFileSync(built, exe);
    copyFileSync(join(ROOT, 'fixtures', 'select-one-of-many', 'input.yaml'), join(dir, 'app.yaml'));
  }, 240_000);
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is executable and stands alone', () => {
    expect(statSync(exe).mode & 0o111).not.toBe(0);
    expect(run(['version'])).toEqual({ code: 0, stdout: `kubectl-dev ${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version}\n`, stderr: '' });
  });

  it('prints help like the bundled CLI, without a SEA warning', () => {
    const result = run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    for (const command of ['start', 'end', 'status', 'exec', 'sync', 'render', 'doctor', 'completion', 'version']) expect(result.stdout).toContain(`kubectl dev ${command}`);
    expect(result.stdout).toBe(runCli(['--help']).stdout);
  });

  it('start --local on a fixture gives the bundled CLI\'s output', () => {
    const args = ['start', '--local', '-f', 'app.yaml', 'deployment/reviews-v2', '--workdir', '/opt/app'];
    const result = run(args);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('name: kubectl-dev-sync');
    expect(result.stdout).toContain('/opt/app');
    expect(result.stdout).toBe(runCli(args, { cwd: dir }).stdout);
  });

  it('reads standard input (render as a post-renderer)', () => {
    const input = readFileSync(join(dir, 'app.yaml'), 'utf8');
    const result = run(['render', '--select', 'deployment/reviews-v2', '--workdir', '/opt/app'], input);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('kubectl-dev-sync');
  });

  it('bad input: a clear error and its exit code', () => {
    const missing = run(['start', '--local', '-f', 'nope.yaml']);
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(/^error: cannot read nope\.yaml/);
    expect(missing.stderr).toContain('hint:');
    const usage = run(['bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^error: Unknown argument: bogus/);
    const kind = run(['start', '--local', '-f', 'app.yaml', 'replicaset/x']);
    expect(kind.code).toBe(3);
    expect(kind.stderr).toContain('is not a workload kind kubectl-dev supports');
  });

  it('loads the lazily compiled part (client-node) from inside the binary', () => {
    // doctor loads client-node and the sync module from the embedded heavy bundle.
    const result = run(['doctor', '--kubeconfig', join(dir, 'missing'), '-o', 'json']);
    expect(result.code, result.stderr).toBe(4);
    const report = JSON.parse(result.stdout) as { checks: Array<{ name: string; level: string; detail: string }> };
    expect(report.checks.map((c) => c.name)).toEqual(['kubeconfig', 'API server', 'RBAC', 'syncthing']);
    expect(report.checks[0]?.detail).toContain('does not exist');
  });

  it('carries its own syncthing: doctor uses it before any syncthing on PATH, unpacked into the cache dir, checksum verified', () => {
    const result = run(['doctor', '--kubeconfig', join(dir, 'missing'), '-o', 'json']);
    const check = (JSON.parse(result.stdout) as { checks: Array<{ name: string; level: string; detail: string }> }).checks.find((c) => c.name === 'syncthing')!;
    expect(check.level, check.detail).toBe('ok');
    expect(check.detail).toBe(`${SYNCTHING_VERSION} at ${join(dir, '.cache', 'kubectl-dev', 'syncthing')}/${SYNCTHING_VERSION}-${check.detail.split(`${SYNCTHING_VERSION}-`)[1]!.slice(0, 16)}/syncthing (embedded in the kubectl-dev binary, checksum verified)`);
    const unpacked = check.detail.split(' ')[2]!;
    expect(statSync(dirname(unpacked)).mode & 0o777).toBe(0o700);
    expect(spawnSync(unpacked, ['--version'], { encoding: 'utf8' }).stdout).toMatch(new RegExp(`^syncthing ${SYNCTHING_VERSION.replace(/\./g, '\\.')} `));
  });

  it('starts without the heavy modules: they are not in the part every start runs', () => {
    // A top-level import of yaml, client-node or src/live|kube|sync|render in src/cli/commands/*.ts
    // (or what they import statically) pulls them into main.cjs and slows every start (docs/shipping.md).
    const main = readFileSync(join(ROOT, 'dist', 'sea', 'main.cjs'), 'utf8');
    expect(main).not.toContain('YAMLParseError');
    expect(main).not.toContain('KubeConfig');
    expect(main.length).toBeLessThan(300_000);
  });

  it('answers completion (kubectl_complete-dev calls it)', () => {
    expect(run(['__complete', '--', 'st']).stdout).toBe('start\tPut a workload in dev mode\nstatus\tList workloads in dev mode\n:4\n');
  });
});
