// Crash safety: the CLI kills itself (SIGKILL) right before its Nth change to the cluster
// (KUBECTL_DEV_CRASH_AT_STEP=N). For every N and each of the six kinds: after a crash in
// start, a new start either completes or says to run end, and `end` restores the original;
// after a crash in end, `end` again restores it. The workloads and dev pods run on the real node.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_LABEL } from '../../src/core/marks.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { LIVE_CASES, applyManifests, dev, kubectl, read, restorable, type LiveCase } from './live-support.ts';

const kc = testKubeConfig();
const KILLED = -1;
const MAX_STEPS = 12;

async function expectRestored(testCase: LiveCase, ns: string, before: unknown, context: string): Promise<void> {
  const after = await waitFor(`${testCase.target} back (${context})`, () => read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns));
  expect(restorable(after), context).toEqual(before);
  const left = JSON.parse(kubectl(['get', 'secrets,configmaps,deployments,jobs', '-n', ns, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;
  expect(left.map((o: { kind: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`), context).toEqual([]);
}

describe.each(LIVE_CASES)('$kind survives a crash at any step', (testCase) => {
  let ns: { name: string; remove: () => Promise<void> };
  let before: unknown;
  const start = (env: NodeJS.ProcessEnv = {}) => dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--timeout', '120s', '-q', '--image', 'busybox:1.36'], env);
  const end = (env: NodeJS.ProcessEnv = {}) => dev(['end', testCase.target, '-n', ns.name, '-q'], env);

  beforeAll(async () => {
    ns = await createTestNamespace(kc, `crash-${testCase.kind.toLowerCase()}`);
    applyManifests(ns.name, testCase.manifests);
    if (testCase.kind === 'Pod') await waitFor('pod running', async () => (await read(kc, 'v1', 'Pod', testCase.name, ns.name))?.status?.phase === 'Running');
    before = restorable(await read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name));
  });
  afterAll(async () => ns?.remove());

  it('in start: every step, then a new start and end restore the original', async () => {
    let crashes = 0;
    for (let step = 1; step <= MAX_STEPS; step++) {
      const crashed = start({ KUBECTL_DEV_CRASH_AT_STEP: String(step) });
      if (crashed.code !== KILLED) {
        expect(crashed.code, `start without a crash at step ${step}: ${crashed.stderr}`).toBe(0);
        break;
      }
      crashes++;
      const again = start();
      if (again.code !== 0) expect(again.stderr, `start after a crash at step ${step}`).toContain('kubectl dev end');
      const ended = end();
      expect(ended.code, `end after a crash at step ${step}: ${ended.stderr}`).toBe(0);
      await expectRestored(testCase, ns.name, before, `crash in start at step ${step}`);
    }
    expect(crashes).toBeGreaterThanOrEqual(2);
    const ended = end();
    expect(ended.code).toBe(0);
    await expectRestored(testCase, ns.name, before, 'after the loop');
  });

  it('in end: every step, then end again restores the original', async () => {
    let crashes = 0;
    for (let step = 1; step <= MAX_STEPS; step++) {
      expect(start().code).toBe(0);
      const crashed = end({ KUBECTL_DEV_CRASH_AT_STEP: String(step) });
      if (crashed.code !== KILLED) {
        expect(crashed.code, crashed.stderr).toBe(0);
        await expectRestored(testCase, ns.name, before, `end without a crash at step ${step}`);
        break;
      }
      crashes++;
      const ended = end();
      expect(ended.code, `end after a crash at step ${step}: ${ended.stderr}`).toBe(0);
      await expectRestored(testCase, ns.name, before, `crash in end at step ${step}`);
    }
    expect(crashes).toBeGreaterThanOrEqual(1);
  });
});
