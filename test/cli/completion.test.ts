// Shell completion: the __complete engine (cobra's format, as kubectl's plugin completion
// expects), the bash and zsh scripts, and `kubectl __complete dev …` through a real kubectl 1.35
// with kubectl_complete-dev on PATH. No cluster here: workload names from the cluster are in test/e2e/completion.test.ts.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPLETE_SCRIPT } from '../../scripts/build-binary.ts';
import { kubectlBinary } from '../support/binaries.ts';
import { BIN, runCli } from './run-cli.ts';

/** Parses cobra's output: lines "value[\tdescription]", then ":directive". */
function parse(stdout: string): { values: string[]; directive: number } {
  const lines = stdout.trimEnd().split('\n');
  const last = lines.pop() ?? '';
  expect(last).toMatch(/^:\d+$/);
  return { values: lines.map((l) => l.split('\t')[0] as string), directive: Number(last.slice(1)) };
}

function complete(...words: string[]) {
  const result = runCli(['__complete', '--', ...words], { env: { KUBECONFIG: '/nonexistent/kubeconfig' } });
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toBe('');
  return parse(result.stdout);
}

describe('__complete', () => {
  it('lists the commands, with descriptions, not the hidden ones', () => {
    const result = runCli(['__complete', '--', '']);
    expect(result.stdout).toContain('start\tPut a workload in dev mode\n');
    const { values, directive } = parse(result.stdout);
    expect(values).toEqual(expect.arrayContaining(['start', 'end', 'status', 'exec', 'sync', 'render', 'doctor', 'completion', 'version']));
    expect(values.some((v) => v.startsWith('__'))).toBe(false);
    expect(directive).toBe(4); // no file completion
  });

  it('filters by the typed prefix', () => {
    expect(complete('st').values).toEqual(['start', 'status']);
  });

  it('offers the workload kinds for KIND/NAME, without a trailing space', () => {
    const { values, directive } = complete('start', '');
    expect(values).toEqual(['deployment/', 'statefulset/', 'daemonset/', 'job/', 'cronjob/', 'pod/', 'rollout/']);
    expect(directive & 2).toBe(2);
    expect(complete('end', 'st').values).toEqual(['statefulset/', 'sts/']);
  });

  it('volumes: the action first, then the workload', () => {
    expect(complete('volumes', '').values).toEqual(['ls', 'rm']);
    expect(complete('volumes', 'r').values).toEqual(['rm']);
    expect(complete('volumes', 'rm', 'st').values).toEqual(['statefulset/', 'sts/']);
  });

  it('knows from the declarations which flags take a value: a workload after -p PORT, and run takes one', () => {
    expect(complete('sync', '-p', '8080', '').values).toEqual(['deployment/', 'statefulset/', 'daemonset/', 'job/', 'cronjob/', 'pod/', 'rollout/']);
    expect(complete('run', '--forward', '3000:3000', '--local-dir', '.', '').values).toContain('deployment/');
    expect(complete('run', '').values).toContain('cronjob/');
    // A boolean flag takes no value: the next word is the workload.
    expect(complete('start', '--keep-security-context', 'st').values).toEqual(['statefulset/', 'sts/']);
    // After the workload, no kinds again.
    expect(complete('sync', 'deploy/web', '').values).not.toContain('deployment/');
  });

  it('offers flags of the command', () => {
    const { values } = complete('start', '--');
    expect(values).toEqual(expect.arrayContaining(['--namespace', '--image', '--timeout', '--dry-run', '--kubeconfig', '--context']));
    expect(values).not.toContain('--n');
    expect(complete('doctor', '--sy').values).toEqual(['--syncthing']);
  });

  it('offers the choices of a flag', () => {
    expect(complete('status', '-o', '').values).toEqual(['table', 'json', 'yaml']);
    expect(complete('completion', '').values).toEqual(['bash', 'zsh']);
  });

  it('leaves path flags to the shell (file completion)', () => {
    expect(complete('start', '--kubeconfig', '')).toEqual({ values: [], directive: 0 });
  });

  it('prints nothing but the directive when the cluster cannot be asked', () => {
    expect(complete('start', 'deploy/')).toEqual({ values: [], directive: 4 });
    expect(complete('start', '-n', '')).toEqual({ values: [], directive: 4 });
  });

  it('prints the bash and zsh scripts', () => {
    const bash = runCli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -o default -F _kubectl_dev_complete kubectl-dev');
    const zsh = runCli(['completion', 'zsh']);
    expect(zsh.stdout).toMatch(/^#compdef kubectl-dev/);
    expect(runCli(['completion', 'fish']).code).toBe(2);
  });
});

describe('completion through a shell and through kubectl', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-completion-'));
    // kubectl-dev on PATH (the bundled CLI on this Node), and kubectl_complete-dev as shipped.
    writeFileSync(join(dir, 'kubectl-dev'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    writeFileSync(join(dir, 'kubectl_complete-dev'), COMPLETE_SCRIPT);
    chmodSync(join(dir, 'kubectl-dev'), 0o755);
    chmodSync(join(dir, 'kubectl_complete-dev'), 0o755);
    env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, KUBECONFIG: join(dir, 'no-kubeconfig'), HOME: dir };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bash: the script fills COMPREPLY', () => {
    const script = `source <(kubectl-dev completion bash)
COMP_WORDS=(kubectl-dev st); COMP_CWORD=1; _kubectl_dev_complete; echo "\${COMPREPLY[*]}"
COMP_WORDS=(kubectl-dev start dep); COMP_CWORD=2; _kubectl_dev_complete; echo "\${COMPREPLY[*]}"`;
    const result = spawnSync('bash', ['-c', script], { env, encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')).toEqual(['start status', 'deployment/ deploy/', '']);
  });

  it('kubectl 1.35 runs kubectl_complete-dev for `kubectl dev <TAB>`', () => {
    const kubectl = kubectlBinary();
    const run = (...words: string[]) => spawnSync(kubectl, ['__complete', 'dev', ...words], { env, encoding: 'utf8', timeout: 20_000 });
    const commands = run('st');
    expect(commands.status, commands.stderr).toBe(0);
    expect(parse(commands.stdout).values).toEqual(['start', 'status']);
    const kinds = run('start', 'sts');
    expect(parse(kinds.stdout)).toEqual({ values: ['sts/'], directive: 6 });
    const flags = run('status', '--all');
    expect(parse(flags.stdout).values).toEqual(['--all-namespaces']);
  });
});
