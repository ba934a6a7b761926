// Plain tests of the core's small parts: names, the kinds table, size limits, exit errors.

import { describe, expect, it } from 'vitest';
import { enter, enterWorkload } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { exit } from '../../../src/core/exit.ts';
import { generatedKindOf, generatedKinds, parseWorkloadRef, WORKLOAD_KINDS, workloadKindByName } from '../../../src/core/kinds.ts';
import { parseManifests } from '../../../src/core/manifests.ts';
import { boundedName, generatedName, stableHash, syncSecretName, workloadLabelValue } from '../../../src/core/names.ts';

const deployment = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name, ...extra },
  spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } } },
});

function errorOf(fn: () => unknown): DevError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DevError) return error;
    throw error;
  }
  throw new Error('expected a DevError');
}

describe('the kinds table', () => {
  it('names, for every kind that generates an object, a kind of the table', () => {
    const generating = WORKLOAD_KINDS.filter((k) => k.generates);
    expect(generating.map((k) => k.kind)).toEqual(['DaemonSet', 'Job', 'CronJob', 'Rollout']);
    expect(generating.map((k) => generatedKindOf(k).kind)).toEqual(['Deployment', 'Job', 'Job', 'Deployment']);
    expect(generatedKinds()).toEqual([{ apiVersion: 'apps/v1', kind: 'Deployment' }, { apiVersion: 'batch/v1', kind: 'Job' }]);
    expect(() => generatedKindOf(workloadKindByName('deploy')!)).toThrow(/generates nothing/);
  });
});

describe('names', () => {
  it('are stable and bounded', () => {
    expect(stableHash('deployment.web')).toBe(stableHash('deployment.web'));
    expect(stableHash('deployment.web')).not.toBe(stableHash('deployment.wed'));
    const long = 'a'.repeat(300);
    expect(syncSecretName('Deployment', long).length).toBeLessThanOrEqual(253);
    const job = workloadKindByName('job')!;
    expect(generatedName(long, job).length).toBeLessThanOrEqual(63);
    expect(generatedName(long, job)).toMatch(/-dev$/);
    expect(generatedName(long, workloadKindByName('deployment')!).length).toBe(253);
    expect(workloadLabelValue('StatefulSet', long)).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    expect(workloadLabelValue('StatefulSet', long).length).toBeLessThanOrEqual(63);
    expect(boundedName('web', '-dev', 63)).toBe('web-dev');
    expect(boundedName(`${'x'.repeat(60)}a`, '-dev', 63)).not.toBe(boundedName(`${'x'.repeat(60)}b`, '-dev', 63));
  });
});

describe('the kinds table', () => {
  it('accepts every kubectl name and short name', () => {
    const cases: Record<string, string> = {
      deployment: 'Deployment', deploy: 'Deployment', 'deployments.apps': 'Deployment', sts: 'StatefulSet', statefulsets: 'StatefulSet',
      ds: 'DaemonSet', job: 'Job', jobs: 'Job', cj: 'CronJob', cronjob: 'CronJob', po: 'Pod', pod: 'Pod', Deployment: 'Deployment',
      rollout: 'Rollout', ro: 'Rollout', 'rollouts.argoproj.io': 'Rollout',
    };
    for (const [typed, kind] of Object.entries(cases)) expect(workloadKindByName(typed)?.kind, typed).toBe(kind);
    expect(workloadKindByName('jobs.apps')).toBeUndefined();
    expect(workloadKindByName('rollouts.apps')).toBeUndefined();
    expect(WORKLOAD_KINDS).toHaveLength(7);
  });

  it('parses KIND/NAME and rejects malformed or unsupported ones', () => {
    expect(parseWorkloadRef('deploy/web', 'shop')).toMatchObject({ name: 'web', namespace: 'shop', kind: { kind: 'Deployment' } });
    expect(errorOf(() => parseWorkloadRef('web')).code).toBe('INVALID_OPTION');
    expect(errorOf(() => parseWorkloadRef('deploy/')).code).toBe('INVALID_OPTION');
    expect(errorOf(() => parseWorkloadRef('a/b/c')).code).toBe('INVALID_OPTION');
    expect(parseWorkloadRef('ro/web').kind.kind).toBe('Rollout');
    const replicaSet = errorOf(() => parseWorkloadRef('rs/web'));
    expect(replicaSet.code).toBe('UNSUPPORTED_KIND');
    const known = errorOf(() => parseWorkloadRef('replicaset/web'));
    expect(known.hint).toContain('Deployment that owns the ReplicaSet');
  });
});

describe('enter', () => {
  it('refuses an original too large for annotations, and says what to do', () => {
    const huge = deployment('big', { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(140_000) } });
    const error = errorOf(() => enter([huge]));
    expect(error.code).toBe('ORIGINAL_TOO_LARGE');
    expect(error.message).toMatch(/over the API server's limit of 262144/);
    expect(error.where).toMatchObject({ document: 0, object: 'Deployment/big' });
  });

  it('accepts an original just under the limit', () => {
    const fits = deployment('fits', { annotations: { note: 'x'.repeat(100_000) } });
    expect(() => enter([fits])).not.toThrow();
  });

  it('validates settings, collecting every problem', () => {
    const error = errorOf(() => enterWorkload(deployment('w'), WORKLOAD_KINDS[0]!, { workdir: 'relative', command: [], renameContainer: 'Bad_Name' }));
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.message).toContain('workdir "relative" must be an absolute path');
    expect(error.message).toContain('command must not be empty');
    expect(error.message).toContain('not a valid DNS-1123 label');
  });

  it('refuses to rename the dev container to a name the pod already uses', () => {
    const two = deployment('two');
    (two.spec.template.spec.containers as unknown[]).push({ name: 'other', image: 'busybox' });
    expect(errorOf(() => enter([two], { settings: { container: 'app', renameContainer: 'other' } })).code).toBe('INVALID_OPTION');
  });

  it('is deterministic: the same input gives the same output', () => {
    const input = [deployment('same')];
    expect(JSON.stringify(enter(input))).toBe(JSON.stringify(enter(structuredClone(input))));
  });

  it('records the time only when given', () => {
    const [withTime] = enter([deployment('t')], { now: '2026-11-22T00:00:00Z' });
    const [withoutTime] = enter([deployment('t')]);
    expect(withTime!.metadata!.annotations!['dev.kubectl-dev.io/since']).toBe('2026-11-22T00:00:00Z');
    expect(withoutTime!.metadata!.annotations!['dev.kubectl-dev.io/since']).toBeUndefined();
  });

  it('matches targets by namespace when both name one', () => {
    const a = deployment('web', { namespace: 'a' });
    const b = deployment('web', { namespace: 'b' });
    const out = enter([a, b], { targets: [parseWorkloadRef('deploy/web', 'b')] });
    expect(out[0]).toBe(a);
    expect(out[1]!.metadata!.labels!['dev.kubectl-dev.io/dev-mode']).toBe('true');
  });
});

describe('exit', () => {
  it('reports a corrupted saved original instead of guessing', () => {
    const [entered] = enter([deployment('c')]);
    entered!.metadata!.annotations!['dev.kubectl-dev.io/original'] = '{not json';
    const error = errorOf(() => exit([entered!]));
    expect(error.code).toBe('CORRUPT_DEV_STATE');
    expect(error.where.document).toBe(0);
  });

  it('passes through objects that are not in dev mode', () => {
    const plain = deployment('p');
    expect(exit([plain])[0]).toBe(plain);
  });
});

describe('the sync sidecar of a rewritten pod', () => {
  const podOf = (obj: unknown) => (obj as { spec: { template: { spec: { containers: Array<Record<string, any>> } } } }).spec.template.spec;
  const sidecarOf = (obj: unknown) => podOf(obj).containers.find((c) => c.name === 'kubectl-dev-sync')!;
  const [entered] = enter([deployment('web')]);
  const sidecar = sidecarOf(entered);
  const script = sidecar.command[2] as string;

  it('passes syncthing its GUI/REST address on loopback, which wins over the image\'s STGUIADDRESS=0.0.0.0:8384', () => {
    expect(sidecar.command.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(script).toMatch(/&& exec \/bin\/syncthing serve --home=\/var\/kubectl-dev\/syncthing --gui-address=127\.0\.0\.1:8384 /);
    expect(script).not.toContain('0.0.0.0');
  });

  it('sets STGUIADDRESS to the same address in its env, over the image\'s, and STHOMEDIR to its home', () => {
    const env = Object.fromEntries((sidecar.env as Array<{ name: string; value: string }>).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ STGUIADDRESS: '127.0.0.1:8384', STHOMEDIR: '/var/kubectl-dev/syncthing', HOME: '/var/kubectl-dev/syncthing' });
    expect(script).toContain(`--home=${env.STHOMEDIR} `);
    expect(script).toContain(`--gui-address=${env.STGUIADDRESS} `);
    expect(sidecar.env.map((e: { name: string }) => e.name)).toEqual([...new Set(sidecar.env.map((e: { name: string }) => e.name))]);
  });

  it('runs syncthing under umask 0000, set after the keys are copied and right before syncthing starts', () => {
    const steps = script.split(' && ');
    expect(steps.at(-2)).toBe('umask 0000');
    expect(steps.at(-1)).toMatch(/^exec \/bin\/syncthing serve /);
    expect(steps.findIndex((s) => s.startsWith('cp '))).toBeLessThan(steps.length - 2);
  });

  it('is the same whatever the dev container\'s user, image or work dir', () => {
    const withUser = deployment('web');
    (withUser.spec.template.spec as Record<string, unknown>).securityContext = { runAsUser: 4242, runAsGroup: 4242, fsGroup: 4242 };
    const [other] = enter([withUser], { settings: { image: 'node:24', keepSecurityContext: true, workdir: '/src' } });
    expect(sidecarOf(other).command).toEqual(sidecar.command);
    expect(sidecarOf(other).env).toEqual(sidecar.env);
  });
});

describe('manifests', () => {
  it('reads YAML the Kubernetes way: octal modes, string timestamps, merge keys', () => {
    const [parsed] = parseManifests('apiVersion: v1\nkind: X\nmetadata: {name: a}\nmode: 0644\nwhen: 2020-01-01T00:00:00Z\nbase: &b {x: 1}\nmerged:\n  <<: *b\n  z: 2\n', 's');
    expect(parsed!.object).toMatchObject({ mode: 420, when: '2020-01-01T00:00:00Z', merged: { x: 1, z: 2 } });
  });

  it('refuses alias bombs with a located error; reads duplicate keys last-wins, as kubectl, and says where they are', () => {
    const bomb = ['apiVersion: v1', 'kind: X', 'a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]'].join('\n');
    expect(errorOf(() => parseManifests(bomb, 's')).code).toBe('INVALID_YAML');
    const [dup] = parseManifests('apiVersion: v1\nkind: X\nkind: Z\n', 's');
    expect(dup!.object.kind).toBe('Z');
    expect(dup!.problems).toEqual([{ message: 'duplicate key "kind" (kubectl and Helm keep the last one)', line: 3, path: 'kind' }]);
  });

  it('rejects labels that are not strings', () => {
    expect(errorOf(() => parseManifests('apiVersion: v1\nkind: X\nmetadata:\n  labels: {on: true}\n', 's')).message).toContain('metadata.labels must map strings to strings');
  });
});
