// The real CLI in --local mode: every golden fixture through `start --local`, the way
// back through `end --local`, and bad input (clear message, non-zero exit, nothing on stdout).

import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SIDECAR_CONTAINER } from '../../src/core/marks.ts';
import { parseManifests } from '../../src/core/manifests.ts';
import { fixtureNames, loadFixture } from '../fixtures.ts';
import { runCli } from './run-cli.ts';

function flagsFor(name: string): string[] {
  const { options } = loadFixture(name);
  const s = options.settings ?? {};
  const flags: string[] = [];
  if (s.container) flags.push('-c', s.container);
  if (s.image) flags.push('--image', s.image);
  if (s.workdir) flags.push('--workdir', s.workdir);
  if (s.renameContainer) flags.push('--rename-container', s.renameContainer);
  if (s.keepSecurityContext) flags.push('--keep-security-context');
  if (options.force) flags.push('--force');
  for (const t of options.targets ?? []) flags.push(`${t.kind.kind.toLowerCase()}/${t.name}`);
  return flags;
}

/** Fixtures whose options the command line can express exactly. */
const cliExpressible = fixtureNames().filter((name) => {
  const { options, error } = loadFixture(name);
  const s = options.settings ?? {};
  return error === undefined && options.now === undefined && s.command === undefined && s.env === undefined && s.resources === undefined;
});

const objectsOf = (text: string) => parseManifests(text, 'out').map((p) => p.object);

describe('kubectl-dev start --local / end --local', () => {
  it('covers most fixtures from the command line', () => {
    expect(cliExpressible.length).toBeGreaterThanOrEqual(8);
  });

  it.each(cliExpressible)('start --local prints expected.yaml for %s, and end --local gives the input back', (name) => {
    const fixture = loadFixture(name);
    const start = runCli(['start', '--local', '-f', join('fixtures', name, 'input.yaml'), ...flagsFor(name)]);
    expect(start.stderr).toBe('');
    expect(start.code).toBe(0);
    expect(objectsOf(start.stdout)).toEqual(objectsOf(readFileSync(fixture.expectedPath, 'utf8')));

    const end = runCli(['end', '--local', '-f', '-'], { stdin: start.stdout });
    expect(end.code).toBe(0);
    expect(objectsOf(end.stdout)).toEqual(fixture.input.map((p) => p.object));
  });

  it('reads stdin with -f - and prints JSON with -o json (a List when several objects)', () => {
    const input = readFileSync(join('fixtures', 'daemonset-node-selector', 'input.yaml'), 'utf8');
    const result = runCli(['start', '--local', '-f', '-', '-o', 'json', '--force'], { stdin: input });
    expect(result.code).toBe(0);
    const list = JSON.parse(result.stdout);
    expect(list.kind).toBe('List');
    expect(list.items.map((i: { kind: string }) => i.kind)).toEqual(['DaemonSet', 'Deployment']);
  });

  it('refuses a DaemonSet in kube-system (exit 3, nothing on stdout) unless --force', () => {
    const input = readFileSync(join('fixtures', 'daemonset-node-selector', 'input.yaml'), 'utf8');
    const refused = runCli(['start', '--local', '-f', '-'], { stdin: input });
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toContain('DaemonSet/log-agent runs in kube-system: dev mode would stop its pod on every node');
    expect(refused.stderr).toContain('pass --force if no node depends on it');
    const forced = runCli(['start', '--local', '-f', '-', '--force'], { stdin: input });
    expect(forced.code, forced.stderr).toBe(0);
    expect(objectsOf(forced.stdout).map((o) => o.kind)).toEqual(['DaemonSet', 'Deployment']);
  });

  it('keeps comments of documents it does not change', () => {
    const result = runCli(['start', '--local', '-f', 'fixtures/mixed-stream-with-hook/input.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/mode: "0644" +# stays a string/);
  });

  it('round-trips a workload whose chart leaves labels: and annotations: empty (null), and keeps what kubectl reads', () => {
    const input = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n  annotations:\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        args: [--at, 10:30, "0o17", 0x1F]\n        env: [{name: MAX, value: "9223372036854775807"}]\n      activeDeadlineSeconds: 9223372036854775807\n';
    const start = runCli(['start', '--local', '-f', '-'], { stdin: input });
    expect(start.code).toBe(0);
    const end = runCli(['end', '--local', '-f', '-'], { stdin: start.stdout });
    expect(end.stderr).toBe('');
    expect(end.code).toBe(0);
    expect(objectsOf(end.stdout)).toEqual(objectsOf(input));
    expect(end.stdout).toContain('activeDeadlineSeconds: 9223372036854775807\n');
    expect(end.stdout).toContain('- "10:30"');
    expect(end.stdout).toContain('- "0o17"');
    expect(end.stdout).toContain('- 31');
  });

  it('copies documents it does not change from the input text (duplicate keys and all)', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: "1", x: "2"}   # as written\n';
    const result = runCli(['start', '--local', '-f', '-'], { stdin: `${cm}---\n${readFileSync('fixtures/pod-init-containers/input.yaml', 'utf8')}` });
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith(`${cm}---\n`)).toBe(true);
  });

  it('reads every manifest of a directory with -f DIR', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-dir-'));
    copyFileSync('fixtures/job-live/input.yaml', join(dir, 'a.yaml'));
    copyFileSync('fixtures/job-live/expected.yaml', join(dir, 'b.yml'));
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    const result = runCli(['start', '--local', '-f', dir, '-o', 'json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // a.yaml: the Job is entered; b.yml: already in dev mode, so it and its dev Job pass through.
    const kinds = JSON.parse(result.stdout).items.map((i: { kind: string; metadata: { name: string } }) => `${i.kind}/${i.metadata.name}`);
    expect(kinds).toEqual(['Job/succeed', 'Job/succeed-dev', 'Job/succeed', 'Job/succeed-dev']);
  });
});

describe('bad input: a clear error, a non-zero exit and nothing on stdout', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['malformed YAML', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b\nspec: {}\n', /invalid YAML.*\n  where: stdin, document 2 \(line (6|8|9)\)/],
    ['a document that is not an object', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- just\n- a list\n', /the document is a list, not a Kubernetes object\n  where: stdin, document 2 \(line 5\)/],
    ['a mapping without kind', 'apiVersion: v1\nmetadata: {name: a}\n', /has no kind/],
    ['an unsupported workload kind', 'apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: c}]\n', /ReplicaSet\/web.*not a workload kind kubectl-dev supports\n  where: stdin, document 1 \(line 1\), ReplicaSet\/web\n  hint: target the Deployment that owns the ReplicaSet/],
    ['a Rollout whose template holder is missing', readFileSync('fixtures/error-rollout-holder-missing/input.yaml', 'utf8'), /Rollout\/rollout-ref-deployment takes its pod template from Deployment\/rollout-ref-deployment, which is not in the input\n  where: stdin, document 1 \(line 1\), Rollout\/rollout-ref-deployment\n  hint: give that Deployment together with the Rollout/],
    ['an ambiguous container', readFileSync('fixtures/error-ambiguous-container/input.yaml', 'utf8'), /2 containers \(proxy, api\).*\n  where: stdin, document 1 \(line 1\), Deployment\/api, containers\n  hint: pass -c with one of: proxy, api/],
    ['a volume name collision', readFileSync('fixtures/error-volume-collision/input.yaml', 'utf8'), /already has a volume named "kubectl-dev-workdir"/],
    ['a duplicate key in the workload to change', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: "1", x: "2"}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  name: p\nspec:\n  containers: [{name: c, image: c}]\n', /duplicate key "name" \(kubectl and Helm keep the last one\)\n  where: stdin, document 2 \(line 10\), Pod\/p, metadata.name\n/],
  ];
  it.each(cases)('%s', (_name, input, message) => {
    const result = runCli(['start', '--local', '-f', '-'], { stdin: input });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^error: /);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('hint: ');
    expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
  });

  it('refuses invalid UTF-8 with its line, exit 3', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-utf8-'));
    writeFileSync(join(dir, 'bad.yaml'), Buffer.concat([Buffer.from('apiVersion: v1\nkind: ConfigMap\ndata: {a: "'), Buffer.from([0xe2, 0x28, 0xa1]), Buffer.from('"}\n')]));
    const result = runCli(['start', '--local', '-f', join(dir, 'bad.yaml')]);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('error: the input is not valid UTF-8: byte 0xE2 at line 3, column 12');
  });

  it('names the file and the document of a bad document in a file', () => {
    const result = runCli(['start', '--local', '-f', 'fixtures/error-owned-pod/input.yaml']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('where: fixtures/error-owned-pod/input.yaml, document 1 (line 1), Pod/web-7d9f8-abcde');
    expect(result.stderr).toContain('kubectl dev start replicaset/web-7d9f8');
  });

  it('reports a missing file', () => {
    const result = runCli(['start', '--local', '-f', 'nope.yaml']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('cannot read nope.yaml');
  });

  it('rejects unknown flags and commands with exit code 2', () => {
    for (const args of [['start', '--local', '--bogus'], ['frobnicate'], []]) {
      const result = runCli(args);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^error: /);
    }
  });

  it('rejects a bad KIND/NAME and a bad --env', () => {
    const bad = runCli(['start', '--local', '-f', 'fixtures/pod-init-containers/input.yaml', 'widget/x']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('"widget" is not a workload kind');
    const env = runCli(['start', '--local', '-f', 'fixtures/pod-init-containers/input.yaml', '--env', 'NOVALUE']);
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('--env "NOVALUE" is not NAME=VALUE');
  });
});

describe('the binary', () => {
  it('prints help and its version', () => {
    const help = runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('kubectl dev start');
    const version = runCli(['version']);
    expect(version.stdout).toMatch(/^kubectl-dev \d+\.\d+\.\d+/);
  });
});

describe('a wrong flag', () => {
  it('stops the command before it runs: nothing on stdout, exit code 2', () => {
    const result = runCli(['start', '--local', '-f', 'fixtures/pod-init-containers/input.yaml', '--imagee', 'x']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Unknown argument: imagee');
    const version = runCli(['version', '--bogus']);
    expect(version.code).toBe(2);
    expect(version.stdout).toBe('');
  });
});

describe('start --local --cpu / --memory and the dev config\'s cpu / memory', () => {
  const input = join(import.meta.dirname, '../../fixtures/deployment-default-container/input.yaml');
  const devContainer = (stdout: string) => {
    const deployment = objectsOf(stdout).find((o) => o.kind === 'Deployment') as any;
    return deployment.spec.template.spec.containers.find((c: { name: string; workingDir?: string }) => c.name !== SIDECAR_CONTAINER && c.workingDir === '/workspace');
  };

  it('flags over the dev config, request = limit for one quantity; end --local gives the input back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cpu-'));
    const config = join(dir, 'dev.yaml');
    writeFileSync(config, 'workloads:\n  deploy/api:\n    cpu: "250m:1"\n    memory: 512Mi\n');
    const fromConfig = runCli(['start', '--local', '-f', input, 'deploy/api', '--config', config]);
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    expect(devContainer(fromConfig.stdout).resources).toMatchObject({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    const withFlags = runCli(['start', '--local', '-f', input, 'deploy/api', '--config', config, '--memory', '1Gi:2Gi']);
    expect(withFlags.code, withFlags.stderr).toBe(0);
    expect(devContainer(withFlags.stdout).resources).toMatchObject({ requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } });
    const back = join(dir, 'dev.out.yaml');
    writeFileSync(back, withFlags.stdout);
    const ended = runCli(['end', '--local', '-f', back]);
    expect(ended.code, ended.stderr).toBe(0);
    expect(objectsOf(ended.stdout)).toEqual(objectsOf(readFileSync(input, 'utf8')));
  });

  it('refuses a request above its limit or what is not a quantity, with nothing on stdout', () => {
    const flag = runCli(['start', '--local', '-f', input, '--cpu', '4:1']);
    expect(flag.code).toBe(2);
    expect(flag.stdout).toBe('');
    expect(flag.stderr).toContain('--cpu 4:1: the request 4 is more than the limit 1');
    const dir = mkdtempSync(join(tmpdir(), 'cpu-'));
    const config = join(dir, 'dev.yaml');
    writeFileSync(config, 'workloads:\n  deploy/api:\n    memory: lots\n');
    const bad = runCli(['start', '--local', '-f', input, 'deploy/api', '--config', config]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('workloads["deploy/api"].memory (line 3): "lots" is not a Kubernetes quantity');
  });
});
