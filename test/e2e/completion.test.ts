// Workload names in completion, from the test cluster: after `-p PORT` and for `run`, the
// commands that act on dev mode offer only workloads in dev mode; `start` offers every one.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { STAND_IN_IMAGE, applyManifests, dev, standInCommand } from './live-support.ts';

const deployment = (name: string) => stringify({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand() }] } } },
});

const names = (args: string[]): string[] => {
  const r = dev(['__complete', '--', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trimEnd().split('\n').slice(0, -1).map((l) => l.split('\t')[0] as string);
};

describe('completion of workload names from the cluster', () => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(testKubeConfig(), 'complete');
    applyManifests(ns.name, `${deployment('web')}---\n${deployment('api')}`);
    const started = dev(['start', 'deploy/web', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s']);
    expect(started.code, started.stderr).toBe(0);
  });
  afterAll(async () => ns?.remove());

  it('sync -p 8080 and run offer the workloads in dev mode; start offers all', () => {
    expect(names(['sync', '-p', '8080', '-n', ns.name, 'deploy/'])).toEqual(['deploy/web']);
    expect(names(['run', '-n', ns.name, 'deployment/'])).toEqual(['deployment/web']);
    expect(names(['start', '-n', ns.name, '--image', 'node:24', 'deploy/'])).toEqual(['deploy/api', 'deploy/web']);
  });
});
