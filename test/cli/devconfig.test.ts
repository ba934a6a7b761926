// The dev config file from the command line: .kubectl-dev.yaml in the working directory (or
// --config) gives per-workload settings, flags win, and unknown keys are errors with their path.

import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../src/core/manifests.ts';
import { ROOT, runCli } from './run-cli.ts';

const input = join(ROOT, 'fixtures', 'deployment-default-container', 'input.yaml');

function workdirWith(config: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-config-'));
  writeFileSync(join(dir, '.kubectl-dev.yaml'), config);
  return dir;
}

const devContainer = (stdout: string) => {
  const [deployment] = parseManifests(stdout, 'out').map((p) => p.object) as any[];
  return deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === 'api');
};

describe('dev config file', () => {
  const config = 'workloads:\n  deployment/api:\n    image: node:24\n    workdir: /src\n    command: npm run dev\n    env: {LOG_LEVEL: debug}\n';

  it('is read from the working directory and applied to the named workload', () => {
    const dir = workdirWith(config);
    const result = runCli(['start', '--local', '-f', input, 'deploy/api'], { cwd: dir });
    // Found without being named: the command says which file it took settings from.
    expect(result.stderr).toBe(`using the dev config ${join(realpathSync(dir), '.kubectl-dev.yaml')}\n`);
    const api = devContainer(result.stdout);
    expect(api).toMatchObject({ image: 'node:24', workingDir: '/src', command: ['/bin/sh', '-c', 'npm run dev'] });
    expect(api.env).toEqual(expect.arrayContaining([{ name: 'LOG_LEVEL', value: 'debug' }]));
  });

  it('loses to flags', () => {
    const result = runCli(['start', '--local', '-f', input, 'deploy/api', '--image', 'node:22', '--workdir', '/app'], { cwd: workdirWith(config) });
    expect(result.code).toBe(0);
    expect(devContainer(result.stdout)).toMatchObject({ image: 'node:22', workingDir: '/app' });
  });

  it('is also taken from --config', () => {
    const dir = workdirWith(config);
    const result = runCli(['start', '--local', '-f', input, 'deploy/api', '--config', join(dir, '.kubectl-dev.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(devContainer(result.stdout).image).toBe('node:24');
  });

  it('rejects unknown keys with their path and line, before touching anything', () => {
    const dir = workdirWith('workloads:\n  deployment/api:\n    image: node:24\n    imagePullPolicyy: Always\n');
    for (const args of [['start', '--local', '-f', input, 'deploy/api'], ['start', 'deploy/api', '--kubeconfig', '/nonexistent']]) {
      const result = runCli(args, { cwd: dir });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('imagePullPolicyy');
      expect(result.stderr).toMatch(/workloads\.deployment\/api\.imagePullPolicyy|workloads\["deployment\/api"\]\.imagePullPolicyy/);
      expect(result.stderr).toMatch(/line 4/);
    }
  });

});

describe('a dev config stays in its project', () => {
  // `sync` validates the file before any cluster access: the kubeconfig does not exist.
  const sync = (dir: string, ...flags: string[]) => runCli(['sync', 'deploy/api', '--kubeconfig', '/nonexistent', ...flags], { cwd: dir });

  it.each(['../..', '/', '../../../etc', 'app/../../..', 'C:\\Users', '..\\..'])('refuses sync.localDir %j with its path and line, and says how to sync another folder', (localDir) => {
    const dir = workdirWith(`workloads:\n  deployment/api:\n    sync:\n      localDir: ${JSON.stringify(localDir)}\n`);
    const result = sync(dir);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/sync\.localDir \(line 4\)/);
    expect(result.stderr).toContain('leaves the directory of this file');
    expect(result.stderr).toContain('--local-dir');
  });

  it('refuses a localDir that leaves through a symbolic link', () => {
    const dir = workdirWith('workloads:\n  deployment/api:\n    sync: {localDir: ./app/up}\n');
    mkdirSync(join(dir, 'app'));
    symlinkSync('/', join(dir, 'app', 'up'));
    const result = sync(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('sync.localDir resolves to /, outside the config\'s directory');
    expect(result.stderr).toContain('through a symbolic link');
  });

  it('cannot turn on two-way sync by itself: --two-way must say so', () => {
    const dir = workdirWith('workloads:\n  deployment/api:\n    sync: {mode: two-way}\n');
    const result = sync(dir);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('asks for two-way sync (sync.mode: two-way), which a dev config cannot turn on by itself');
    expect(result.stderr).toContain('pass --two-way to allow it');
    // With the flag (or its opposite), the file is accepted and sync goes on to the cluster, which fails here.
    for (const flag of ['--two-way', '--no-two-way']) {
      const allowed = sync(dir, flag);
      expect(allowed.stderr).not.toContain('asks for two-way sync');
      expect(allowed.stderr).toMatch(/nonexistent/);
    }
  });
});
