// Kubeconfig handling the kubectl way, on real files read by @kubernetes/client-node.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { DevError } from '../../../src/core/errors.ts';
import { loadKubeTarget, parseRequestTimeout } from '../../../src/kube/config.ts';

const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-kubeconfig-'));

function file(name: string, config: { current?: string; clusters: [string, string][]; users: string[]; contexts: [string, string, string, string?][] }): string {
  const path = join(dir, name);
  writeFileSync(path, stringify({
    apiVersion: 'v1', kind: 'Config',
    ...(config.current ? { 'current-context': config.current } : {}),
    clusters: config.clusters.map(([n, server]) => ({ name: n, cluster: { server } })),
    users: config.users.map((n) => ({ name: n, user: { token: `token-${n}` } })),
    contexts: config.contexts.map(([n, cluster, user, namespace]) => ({ name: n, context: { cluster, user, ...(namespace ? { namespace } : {}) } })),
  }));
  return path;
}

const first = file('first.yaml', { current: 'alpha', clusters: [['c1', 'https://first.example:6443']], users: ['u1'], contexts: [['alpha', 'c1', 'u1', 'team-a'], ['shared', 'c1', 'u1']] });
const second = file('second.yaml', { current: 'beta', clusters: [['c1', 'https://second.example:6443'], ['c2', 'https://c2.example:6443']], users: ['u1', 'u2'], contexts: [['beta', 'c2', 'u2'], ['shared', 'c2', 'u2', 'from-second']] });
const noCurrent = file('none.yaml', { clusters: [['c3', 'https://c3.example:6443']], users: ['u3'], contexts: [['gamma', 'c3', 'u3']] });

describe('KUBECONFIG with several files', () => {
  it('merges as kubectl does: the first file to set current-context, and each name, wins', () => {
    const target = loadKubeTarget({}, { KUBECONFIG: [noCurrent, first, second].join(delimiter), HOME: dir });
    expect(target.kc.getCurrentContext()).toBe('alpha');
    expect(target.kc.getCluster('c1')?.server).toBe('https://first.example:6443');
    expect(target.kc.getCluster('c2')?.server).toBe('https://c2.example:6443');
    expect(target.kc.getContextObject('shared')?.cluster).toBe('c1');
    expect(target.namespace).toBe('team-a');
  });

  it('--context picks another context, and its namespace', () => {
    const target = loadKubeTarget({ context: 'beta' }, { KUBECONFIG: [first, second].join(delimiter) });
    expect(target.kc.getCurrentCluster()?.server).toBe('https://c2.example:6443');
    expect(target.namespace).toBe('default');
  });

  it('-n wins over the context namespace; --cluster and --user override the context', () => {
    const target = loadKubeTarget({ namespace: 'mine', cluster: 'c2', user: 'u2' }, { KUBECONFIG: [first, second].join(delimiter) });
    expect(target.namespace).toBe('mine');
    expect(target.kc.getCurrentCluster()?.server).toBe('https://c2.example:6443');
    expect(target.kc.getCurrentUser()?.name).toBe('u2');
  });

  it('--kubeconfig wins over KUBECONFIG', () => {
    const target = loadKubeTarget({ kubeconfig: second }, { KUBECONFIG: first });
    expect(target.kc.getCurrentContext()).toBe('beta');
  });

  it('explains a missing file, context or cluster', () => {
    const codes = [
      () => loadKubeTarget({ kubeconfig: join(dir, 'missing.yaml') }, {}),
      () => loadKubeTarget({ context: 'nope' }, { KUBECONFIG: first }),
      () => loadKubeTarget({ cluster: 'nope' }, { KUBECONFIG: first }),
      () => loadKubeTarget({}, { HOME: dir }),
    ].map((fn) => {
      try {
        fn();
      } catch (error) {
        return error instanceof DevError ? `${error.code}: ${error.hint}` : String(error);
      }
      return 'no error';
    });
    expect(codes.every((c) => c.startsWith('KUBECONFIG_INVALID: '))).toBe(true);
    expect(codes[1]).toContain('alpha, shared');
  });
});

describe('--request-timeout', () => {
  it('reads kubectl durations', () => {
    expect(parseRequestTimeout(undefined)).toBe(0);
    expect(parseRequestTimeout('0')).toBe(0);
    expect(parseRequestTimeout('30s')).toBe(30_000);
    expect(parseRequestTimeout('2m')).toBe(120_000);
    expect(parseRequestTimeout('500ms')).toBe(500);
    expect(parseRequestTimeout('15')).toBe(15_000);
    expect(() => parseRequestTimeout('soon')).toThrow(DevError);
  });
});
