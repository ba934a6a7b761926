// Duplicate mode on the real control plane and its real node, for all six kinds: start
// --duplicate makes a per-user dev copy whose dev pod gets Ready, while the original's pods stay
// Ready, a Service selecting the original keeps exactly its endpoints (and, with --take-traffic,
// gets the copy's pod too), and after end the original is byte for byte what it was (the object
// JSON, resourceVersion included: nothing ever wrote to it) and the copy and its Secret are gone.
// Two developers (two client certificates) each get their own copy of one Deployment.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import * as k8s from '@kubernetes/client-node';
import { WORKLOAD_KINDS } from '../../src/core/kinds.ts';
import { GENERATED_LABEL, SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { duplicateName, workloadLabelValue } from '../../src/core/names.ts';
import { userClientCert } from '../cluster/pki.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { LIVE_CASES, applyManifests, dev, kubectl, read, type LiveCase } from './live-support.ts';

const kc = testKubeConfig();
const DEV_IMAGE = 'busybox:1.36';
/** The admin kubeconfig's user, as the API server names it. */
const ADMIN = 'kubernetes-admin';
const COPY_KIND: Record<string, { apiVersion: string; kind: string }> = {
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment' },
  StatefulSet: { apiVersion: 'apps/v1', kind: 'StatefulSet' },
  DaemonSet: { apiVersion: 'apps/v1', kind: 'Deployment' },
  Job: { apiVersion: 'batch/v1', kind: 'Job' },
  CronJob: { apiVersion: 'batch/v1', kind: 'Job' },
  Pod: { apiVersion: 'v1', kind: 'Pod' },
};
const SERVICE_LABEL = { 'dup-e2e': 'original' };

/** The case's manifests with a label the test's Service selects on the workload's pods; a CronJob that fires once a year (its status then never changes). */
function withServiceLabel(testCase: LiveCase): string {
  return parseAllDocuments(testCase.manifests).map((d) => d.toJS()).filter((o) => o && typeof o === 'object').map((o) => {
    if (o.kind === testCase.kind && o.metadata?.name === testCase.name) {
      const podMeta = o.kind === 'Pod' ? o.metadata : o.kind === 'CronJob' ? (o.spec.jobTemplate.spec.template.metadata ??= {}) : (o.spec.template.metadata ??= {});
      podMeta.labels = { ...podMeta.labels, ...SERVICE_LABEL };
      if (o.kind === 'CronJob') o.spec.schedule = '0 0 1 1 *';
    }
    return stringify(o);
  }).join('---\n');
}

const SERVICE = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'original' }, spec: { selector: SERVICE_LABEL, ports: [{ port: 80, targetPort: 8080 }] } };

/** The Service's endpoints, from its EndpointSlices: pod name → ready. */
function endpointsOf(namespace: string): Record<string, boolean> {
  const slices = JSON.parse(kubectl(['get', 'endpointslices', '-n', namespace, '-l', 'kubernetes.io/service-name=original', '-o', 'json']).stdout).items;
  const out: Record<string, boolean> = {};
  for (const slice of slices) for (const e of slice.endpoints ?? []) out[e.targetRef?.name] = e.conditions?.ready === true;
  return out;
}

function podsOf(namespace: string, selector: string): any[] {
  return JSON.parse(kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']).stdout).items;
}

const ready = (pod: any) => pod.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') === true && !pod.metadata.deletionTimestamp;

/** The original's pods (by the Service's label), all Ready; a CronJob that has not fired has none. */
async function originalPodsReady(namespace: string, kind: string): Promise<string[]> {
  if (kind === 'CronJob') return [];
  return waitFor('the original\'s pods ready', () => {
    const pods = podsOf(namespace, 'dup-e2e=original');
    return pods.length > 0 && pods.every(ready) && pods.map((p) => p.metadata.name).sort();
  }, 180_000, 500);
}

/** The original's pods Ready and in the Service's endpoints, and a moment for the controllers to write their status: what `before` is taken from. */
async function settled(namespace: string, kind: string): Promise<string[]> {
  const pods = await originalPodsReady(namespace, kind);
  await waitFor('the Service\'s endpoints', () => Object.keys(endpointsOf(namespace)).length === pods.length, 60_000, 500);
  await new Promise((r) => setTimeout(r, 3000));
  return pods;
}

const objectJson = async (apiVersion: string, kind: string, name: string, namespace: string) => JSON.stringify(await read(kc, apiVersion, kind, name, namespace));

/** Every version of the original written after `resourceVersion`, from a watch that starts there (none, when nothing wrote to it). */
function recordWrites(testCase: LiveCase, namespace: string, resourceVersion: string): { writes: any[]; stop: () => void } {
  const resource = WORKLOAD_KINDS.find((k) => k.kind === testCase.kind)!.resource;
  const path = testCase.apiVersion.includes('/') ? `/apis/${testCase.apiVersion}/namespaces/${namespace}/${resource}` : `/api/v1/namespaces/${namespace}/${resource}`;
  const writes: any[] = [];
  let request: { abort: () => void } | undefined;
  void new k8s.Watch(kc).watch(path, { resourceVersion, fieldSelector: `metadata.name=${testCase.name}`, allowWatchBookmarks: false }, (type, obj) => {
    if (type !== 'BOOKMARK') writes.push({ type, obj });
  }, () => {}).then((r) => (request = r));
  return { writes, stop: () => request?.abort() };
}

const withoutStatus = (obj: any) => {
  const { status: _status, metadata: { resourceVersion: _rv, managedFields: _mf, ...metadata }, ...rest } = structuredClone(obj);
  return { ...rest, metadata };
};

/**
 * The original as it was: byte for byte (resourceVersion included) when nothing wrote to it; when
 * its controller or kubelet wrote its status meanwhile (a kubelet reports a Pod's resources when it
 * likes), every version written differs from it in its status only.
 */
async function expectUntouched(before: string, now: string, writes: readonly any[]): Promise<void> {
  // A write the watch has not delivered yet.
  if (now !== before && writes.length === 0) await new Promise((r) => setTimeout(r, 2000));
  if (writes.length === 0) {
    expect(now).toBe(before);
    return;
  }
  const original = withoutStatus(JSON.parse(before));
  for (const write of writes) expect({ type: write.type, obj: withoutStatus(write.obj) }).toEqual({ type: 'MODIFIED', obj: original });
  expect(withoutStatus(JSON.parse(now))).toEqual(original);
}

describe.each(LIVE_CASES)('$kind: kubectl dev start --duplicate / end', (testCase) => {
  let ns: { name: string; remove: () => Promise<void> };
  const copyName = duplicateName(testCase.name, ADMIN);
  const copy = COPY_KIND[testCase.kind]!;
  const copyTarget = `${copy.kind.toLowerCase()}/${copyName}`;
  beforeAll(async () => {
    ns = await createTestNamespace(kc, `dup-${testCase.kind.toLowerCase()}`);
    applyManifests(ns.name, withServiceLabel(testCase));
    applyManifests(ns.name, stringify(SERVICE));
  });
  afterAll(async () => ns?.remove());

  it('runs a dev copy beside the untouched original, and end removes only the copy', async () => {
    const originalPods = await settled(ns.name, testCase.kind);
    const before = await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name);
    const watch = recordWrites(testCase, ns.name, JSON.parse(before).metadata.resourceVersion);
    const endpointsBefore = endpointsOf(ns.name);
    expect(Object.keys(endpointsBefore).sort()).toEqual(originalPods);

    const start = dev(['start', testCase.target, '-n', ns.name, '--duplicate', '--no-sync', '--timeout', '150s', '--image', DEV_IMAGE]);
    expect(start.stderr).not.toMatch(/^error/m);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain(`${copyTarget} (a dev copy of ${testCase.kind.toLowerCase()}/${testCase.name}, which is untouched) is in dev mode`);

    // The copy: its own object of the table's kind, in dev mode, with a Ready dev pod of the dev image and the sidecar.
    const copyObject = await read(kc, copy.apiVersion, copy.kind, copyName, ns.name);
    expect(copyObject?.metadata?.annotations?.['dev.kubectl-dev.io/duplicate-of']).toBe(`${testCase.kind}/${testCase.name}`);
    const status = dev(['status', '-n', ns.name, '-o', 'json']);
    const rows = JSON.parse(status.stdout).items;
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: copy.kind, name: copyName, phase: 'Ready', duplicateOf: `${testCase.kind}/${testCase.name}` });
    const devPods = podsOf(ns.name, `${WORKLOAD_LABEL}=${workloadLabelValue(copy.kind, copyName)}`);
    expect(devPods.filter(ready).map((p) => p.metadata.name)).toEqual([rows[0].devPod]);
    const devPod = devPods.find((p) => p.metadata.name === rows[0].devPod);
    expect(devPod.spec.containers.map((c: any) => c.name)).toContain(SIDECAR_CONTAINER);
    expect(devPod.spec.containers.find((c: any) => c.name === rows[0].container).image).toBe(DEV_IMAGE);
    expect(devPod.spec.nodeName).toBe('127.0.0.1');
    expect(dev(['status', '-n', ns.name]).stdout).toMatch(new RegExp(`${copy.kind}\\s+${copyName}\\s+${ns.name}.*${testCase.kind}/${testCase.name}`));
    // exec by the original's name and --duplicate reaches the copy's dev container.
    const exec = dev(['exec', testCase.target, '-n', ns.name, '--duplicate', '--', 'hostname']);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe(rows[0].devPod);

    // The original: the same pods, still Ready; the same object; the Service's endpoints unchanged.
    expect(await originalPodsReady(ns.name, testCase.kind)).toEqual(originalPods);
    await expectUntouched(before, await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name), watch.writes);
    expect(endpointsOf(ns.name)).toEqual(endpointsBefore);

    const end = dev(['end', testCase.target, '-n', ns.name, '--duplicate']);
    expect(end.code, end.stderr).toBe(0);
    expect(end.stdout).toContain(`${copyTarget} (a dev copy of ${testCase.kind.toLowerCase()}/${testCase.name}, which was not touched) deleted`);
    expect(await read(kc, copy.apiVersion, copy.kind, copyName, ns.name)).toBeUndefined();
    expect(JSON.parse(kubectl(['get', 'secrets,configmaps', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items).toEqual([]);
    await waitFor('the copy\'s pods gone', () => podsOf(ns.name, `${WORKLOAD_LABEL}=${workloadLabelValue(copy.kind, copyName)}`).length === 0, 120_000, 500);
    await expectUntouched(before, await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name), watch.writes);
    watch.stop();
    expect(await originalPodsReady(ns.name, testCase.kind)).toEqual(originalPods);
    expect(endpointsOf(ns.name)).toEqual(endpointsBefore);
    expect(JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items).toEqual([]);
  });
});

/** A kubeconfig for `user` (a client certificate signed by the test cluster's CA; group system:masters for the permissions). */
function kubeconfigFor(user: string): string {
  const admin = parse(readFileSync(testKubeconfigPath(), 'utf8'));
  const pkiDir = join(dirname(testKubeconfigPath()), 'pki');
  const { cert, key } = userClientCert({ caCert: join(pkiDir, 'ca.crt'), caKey: join(pkiDir, 'ca.key') }, user, ['system:masters']);
  admin.users = [{ name: user, user: { 'client-certificate-data': Buffer.from(cert).toString('base64'), 'client-key-data': Buffer.from(key).toString('base64') } }];
  admin.contexts = admin.contexts.map((c: any) => ({ ...c, context: { ...c.context, user } }));
  const file = join(mkdtempSync(join(tmpdir(), `kubectl-dev-${user}-`)), 'kubeconfig');
  writeFileSync(file, stringify(admin), { mode: 0o600 });
  return file;
}

describe('duplicate mode on a shared Deployment', () => {
  const testCase = LIVE_CASES.find((c) => c.kind === 'Deployment')!;
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'dup-shared');
    applyManifests(ns.name, withServiceLabel(testCase));
    applyManifests(ns.name, stringify(SERVICE));
  });
  afterAll(async () => ns?.remove());

  it('--take-traffic: the Service selecting the original gets the copy\'s pod too, and loses it at end', async () => {
    const originalPods = await settled(ns.name, testCase.kind);
    const before = await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name);
    const watch = recordWrites(testCase, ns.name, JSON.parse(before).metadata.resourceVersion);
    const start = dev(['start', testCase.target, '-n', ns.name, '--duplicate', '--take-traffic', '--no-sync', '--timeout', '150s', '--image', DEV_IMAGE]);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stdout).toContain('its Services send it a share of their requests');
    const devPod = JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items[0].devPod as string;
    const withCopy = await waitFor('the copy in the endpoints', () => {
      const endpoints = endpointsOf(ns.name);
      return endpoints[devPod] === true && endpoints;
    }, 60_000, 500);
    expect(Object.keys(withCopy).sort()).toEqual([...originalPods, devPod].sort());
    await expectUntouched(before, await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name), watch.writes);
    const end = dev(['end', `deployment/${duplicateName(testCase.name, ADMIN)}`, '-n', ns.name]);
    expect(end.code, end.stderr).toBe(0);
    await waitFor('the endpoints as before', () => JSON.stringify(Object.keys(endpointsOf(ns.name)).sort()) === JSON.stringify(originalPods), 60_000, 500);
    await expectUntouched(before, await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name), watch.writes);
    watch.stop();
  });

  it('two developers each get their own copy; one ending hers leaves the other\'s', async () => {
    await settled(ns.name, testCase.kind);
    const before = await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name);
    const watch = recordWrites(testCase, ns.name, JSON.parse(before).metadata.resourceVersion);
    const users = { alice: kubeconfigFor('dup-alice'), bob: kubeconfigFor('dup-bob@example.com') };
    const as = (who: keyof typeof users, args: string[]) => dev(args, { KUBECONFIG: users[who] });
    for (const who of ['alice', 'bob'] as const) {
      const start = as(who, ['start', testCase.target, '-n', ns.name, '--duplicate', '--no-sync', '--timeout', '150s', '--image', DEV_IMAGE]);
      expect(start.code, `${who}: ${start.stderr}`).toBe(0);
    }
    const aliceCopy = duplicateName(testCase.name, 'dup-alice');
    const bobCopy = duplicateName(testCase.name, 'dup-bob@example.com');
    expect(aliceCopy).toBe(`${testCase.name}-dev-dup-alice`);
    expect(bobCopy).toMatch(new RegExp(`^${testCase.name}-dev-dup-bob-[0-9a-z]{7}$`));
    const rows = JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items;
    expect(rows.map((r: any) => [r.name, r.phase, r.duplicateOf]).sort()).toEqual([[aliceCopy, 'Ready', `Deployment/${testCase.name}`], [bobCopy, 'Ready', `Deployment/${testCase.name}`]].sort());
    const copyOf = (who: keyof typeof users) => as(who, ['exec', testCase.target, '-n', ns.name, '--duplicate', '--', 'hostname']).stdout.trim();
    expect(copyOf('alice')).toBe(rows.find((r: any) => r.name === aliceCopy).devPod);
    expect(copyOf('bob')).toBe(rows.find((r: any) => r.name === bobCopy).devPod);
    // A second start by alice finds her copy in dev mode and changes nothing.
    const again = as('alice', ['start', testCase.target, '-n', ns.name, '--duplicate', '--dry-run=client', '--image', DEV_IMAGE]);
    expect(again.stdout).toContain('no change');

    const end = as('alice', ['end', testCase.target, '-n', ns.name, '--duplicate']);
    expect(end.code, end.stderr).toBe(0);
    expect(await read(kc, 'apps/v1', 'Deployment', aliceCopy, ns.name)).toBeUndefined();
    const left = JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items;
    expect(left.map((r: any) => [r.name, r.phase])).toEqual([[bobCopy, 'Ready']]);
    expect(as('bob', ['end', testCase.target, '-n', ns.name, '--duplicate']).code).toBe(0);
    expect(JSON.parse(kubectl(['get', 'deployments,secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/duplicate-of', '-o', 'json']).stdout).items).toEqual([]);
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items).toEqual([]);
    await expectUntouched(before, await objectJson(testCase.apiVersion, testCase.kind, testCase.name, ns.name), watch.writes);
    watch.stop();
  });
});
