// Argo Rollouts in live dev mode on the real control plane and its real node: the real Rollout
// CRD (test/e2e/crds/rollout-crd.yaml, its source in its header) is installed, but NO Rollouts
// controller runs (none can be pulled or built here; docs/decisions.md, Argo Rollouts): the test
// checks the objects — the Rollout paused at 0 replicas, the dev Deployment's pod Ready on the
// node, and after `end` the Rollout (and a workloadRef's Deployment) equal to before, nothing
// dev mode added left — not the controller's reaction to them; and its dev copy (--duplicate)
// from the same template, the Rollout untouched.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { DUPLICATE_OF_ANNOTATION, GENERATED_LABEL, SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { duplicateName, workloadLabelValue } from '../../src/core/names.ts';
import { ROOT } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { STAND_IN_IMAGE, applyManifests, dev, kubectl, read, restorable, standInCommand } from './live-support.ts';

const kc = testKubeConfig();
const CRD = join(import.meta.dirname, 'crds', 'rollout-crd.yaml');
const corpus = (file: string) => readFileSync(join(ROOT, '..', 'shared', 'corpus', file), 'utf8');

/** The corpus document with its images replaced by the node's busybox stand-in (nothing can be pulled). */
function runnable(text: string): string {
  return parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean).map((o) => {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      c.image = STAND_IN_IMAGE;
      c.imagePullPolicy = 'IfNotPresent';
      c.command = standInCommand((c.ports ?? []).map((p: { containerPort: number }) => p.containerPort));
    }
    return stringify(o);
  }).join('---\n');
}

/** The CRD once per cluster (created if absent: it is cluster-wide and only this test uses it), then Established. */
async function installCrd(): Promise<void> {
  if (kubectl(['get', 'crd', 'rollouts.argoproj.io']).code !== 0) {
    // Too large for client-side apply's annotation: created as it is.
    const created = kubectl(['create', '-f', CRD]);
    if (created.code !== 0 && !created.stderr.includes('AlreadyExists')) throw new Error(`installing the Rollout CRD: ${created.stderr}`);
  }
  await waitFor('the Rollout CRD to be established', () => kubectl(['wait', '--for=condition=Established', '--timeout=5s', 'crd/rollouts.argoproj.io']).code === 0, 60_000, 500);
  // The API server serves the new resource a moment after Established.
  await waitFor('rollouts to be served', () => kubectl(['get', 'rollouts.argoproj.io', '-A']).code === 0, 30_000, 500);
}

const CASES = [
  { file: 'argo-rollouts__rollout-bluegreen.yaml', name: 'rollout-bluegreen', holder: undefined },
  { file: 'argo-rollouts__workload-ref.yaml', name: 'rollout-ref-deployment', holder: 'rollout-ref-deployment' },
];

describe.each(CASES)('rollout/$name: start, the dev pod Ready on the node, end', (testCase) => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    await installCrd();
    ns = await createTestNamespace(kc, 'live-rollout');
    applyManifests(ns.name, runnable(corpus(testCase.file)));
  }, 120_000);
  afterAll(async () => ns?.remove());

  it('takes the Rollout over and gives it back exactly', async () => {
    const before = await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name);
    expect(before?.spec?.replicas).toBeGreaterThan(0);
    const holderBefore = testCase.holder ? await read(kc, 'apps/v1', 'Deployment', testCase.holder, ns.name) : undefined;

    const start = dev(['start', `rollout/${testCase.name}`, '-n', ns.name, '--no-sync', '--timeout', '120s']);
    expect(start.stderr).not.toMatch(/^error/m);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('is in dev mode');

    // The Rollout: paused at 0 replicas, template / workloadRef and strategy untouched.
    const inDevMode = await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name);
    expect(inDevMode.metadata.uid).toBe(before.metadata.uid);
    expect(inDevMode.spec).toEqual({ ...before.spec, replicas: 0, paused: true });
    expect(inDevMode.metadata.labels).toMatchObject({ 'dev.kubectl-dev.io/dev-mode': 'true' });

    // The dev pod: made by the generated Deployment from the Rollout's (or its holder's) template, Ready on the real node.
    const generated = await read(kc, 'apps/v1', 'Deployment', `${testCase.name}-dev`, ns.name);
    expect(generated?.metadata?.labels?.[GENERATED_LABEL]).toBe(workloadLabelValue('Rollout', testCase.name));
    expect(generated.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'Rollout', name: testCase.name, uid: before.metadata.uid })]);
    const status = dev(['status', '-n', ns.name, '-o', 'json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).items as { kind: string; name: string; devPod: string; phase: string; container: string }[];
    expect(rows).toEqual([expect.objectContaining({ kind: 'Rollout', name: testCase.name, phase: 'Ready', container: 'rollouts-demo' })]);
    const pod = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, rows[0]!.devPod, '-o', 'json']).stdout);
    expect(pod.spec.nodeName).toBe('127.0.0.1');
    expect(pod.metadata.labels[WORKLOAD_LABEL]).toBe(workloadLabelValue('Rollout', testCase.name));
    for (const name of ['rollouts-demo', SIDECAR_CONTAINER]) {
      expect(pod.status.containerStatuses.find((s: { name: string }) => s.name === name), name).toMatchObject({ ready: true, started: true });
    }
    // The holder is left alone while the Rollout is in dev mode.
    if (testCase.holder) expect(restorable(await read(kc, 'apps/v1', 'Deployment', testCase.holder, ns.name))).toEqual(restorable(holderBefore));

    const end = dev(['end', `rollout/${testCase.name}`, '-n', ns.name]);
    expect(end.stderr).not.toMatch(/^error/m);
    expect(end.code).toBe(0);
    const after = await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name);
    expect(restorable(after)).toEqual(restorable(before));
    if (testCase.holder) expect(restorable(await read(kc, 'apps/v1', 'Deployment', testCase.holder, ns.name))).toEqual(restorable(holderBefore));
    expect(await read(kc, 'apps/v1', 'Deployment', `${testCase.name}-dev`, ns.name)).toBeUndefined();
    expect(JSON.parse(kubectl(['get', 'secrets,configmaps', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items).toEqual([]);
    await waitFor('the dev pod to go', () => JSON.parse(kubectl(['get', 'pods', '-n', ns.name, '-l', WORKLOAD_LABEL, '-o', 'json']).stdout).items.length === 0, 60_000, 500);
  }, 240_000);

  it('--duplicate: a dev Deployment from its template beside the Rollout, which nothing touches; end deletes it', async () => {
    const before = restorable(await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name));
    const holderBefore = testCase.holder ? restorable(await read(kc, 'apps/v1', 'Deployment', testCase.holder, ns.name)) : undefined;
    // The test cluster's admin certificate: the copy is named after the user the API server sees.
    const copyName = duplicateName(testCase.name, 'kubernetes-admin');
    const start = dev(['start', `rollout/${testCase.name}`, '--duplicate', '-n', ns.name, '--no-sync', '--timeout', '120s']);
    expect(start.stderr).not.toMatch(/^error/m);
    expect(start.code).toBe(0);
    const copy = await read(kc, 'apps/v1', 'Deployment', copyName, ns.name);
    expect(copy.metadata.annotations[DUPLICATE_OF_ANNOTATION]).toBe(`Rollout/${testCase.name}`);
    const rows = JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items as { kind: string; name: string; devPod: string; phase: string; container: string; duplicateOf?: string }[];
    expect(rows).toEqual([expect.objectContaining({ kind: 'Deployment', name: copyName, phase: 'Ready', container: 'rollouts-demo', duplicateOf: `Rollout/${testCase.name}` })]);
    const pod = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, rows[0]!.devPod, '-o', 'json']).stdout);
    expect(pod.spec.containers.map((c: { name: string }) => c.name)).toEqual(['rollouts-demo', SIDECAR_CONTAINER]);
    expect(pod.status.containerStatuses.every((s: { ready: boolean }) => s.ready)).toBe(true);
    expect(restorable(await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name))).toEqual(before);
    if (testCase.holder) expect(restorable(await read(kc, 'apps/v1', 'Deployment', testCase.holder, ns.name))).toEqual(holderBefore);

    const end = dev(['end', `rollout/${testCase.name}`, '--duplicate', '-n', ns.name]);
    expect(end.stderr).not.toMatch(/^error/m);
    expect(end.code).toBe(0);
    expect(await read(kc, 'apps/v1', 'Deployment', copyName, ns.name)).toBeUndefined();
    expect(restorable(await read(kc, 'argoproj.io/v1alpha1', 'Rollout', testCase.name, ns.name))).toEqual(before);
    await waitFor('the copy\'s pod to go', () => JSON.parse(kubectl(['get', 'pods', '-n', ns.name, '-l', WORKLOAD_LABEL, '-o', 'json']).stdout).items.length === 0, 60_000, 500);
  }, 240_000);
});
