// The real public charts of fixtures/CHARTS.md (and Argo CD's install stream) with every
// workload in dev mode, sent to the test cluster's real API server with
// `kubectl create --dry-run=server`, as test/cli/render-charts.test.ts renders them (Helm 3
// and Helm 4, kubectl-dev as post-renderer, a dev config naming every workload, --force):
//  - each chart into a fresh namespace (rendered with `-n` it); objects the chart puts in
//    another namespace (kube-system, default) dry-run there, the namespace created for the
//    chart when missing (trust-manager's cert-manager, istio's istio-system) and deleted after;
//  - the chart's CRDs are dry-run, then created for real (its custom resources need them)
//    and deleted at the end; then everything else is dry-run;
//  - the plain `helm template` output, the dev-mode output and its `end --local` restore
//    are each dry-run: every object must be accepted ("created (server dry run)", one line
//    an object), except the refusals listed in REFUSED, which must be the same in all three
//    (the chart's own, not kubectl-dev's).
// `kubectl create`, not client-side `apply`: apply's last-applied annotation is too long for
// large CRDs (Argo CD's ApplicationSet), a refusal of the tool rather than of the manifests.
// Without Go or the module proxy the test is skipped, like the charts test.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/core/objects.ts';
import { fromJson } from '../../src/core/yaml/json.ts';
import {
  ARGO_CD,
  cliRenderForce,
  helmAllInDevMode,
  helmSetup,
  NODE,
  PUBLIC_CHARTS,
  publicChartPath,
  publicChartsAvailable,
  publicChartTitle,
  renderAllInDevMode,
  run,
  type HelmSetup,
} from '../cli/render-support.ts';
import { BIN } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { goRead } from '../tools/goyaml.ts';
import { kubectl } from './live-support.ts';

/** What the API server (or kubectl) refuses of a chart, the same in its plain, dev-mode and restored output. */
interface Refusal {
  /** The objects not created, as kubectl prints them. */
  objects: readonly string[];
  /** kubectl's error output, warnings left out, the test namespace written NS. */
  stderr: readonly string[];
}

/**
 * The chart's own refusals, by chart (the last part of its path); each is refused in the plain
 * `helm template` output too. Any other refusal, or one of these missing, fails the test.
 */
const REFUSED: Readonly<Record<string, Refusal>> = {
  // Its default values ask cert-manager (not in the chart, nor on the test cluster) for its certificate.
  'trust-manager': {
    objects: ['certificate.cert-manager.io/trust-manager', 'issuer.cert-manager.io/trust-manager'],
    stderr: [
      'resource mapping not found for name: "trust-manager" namespace: "NS" from "STDIN": no matches for kind "Certificate" in version "cert-manager.io/v1"',
      'ensure CRDs are installed first',
      'resource mapping not found for name: "trust-manager" namespace: "NS" from "STDIN": no matches for kind "Issuer" in version "cert-manager.io/v1"',
      'ensure CRDs are installed first',
    ],
  },
};

/** What `kubectl create` prints an object as: `deployment.apps/web`, `serviceaccount/web`. */
function printedName(o: KubeObject): string {
  const group = String(o.apiVersion).includes('/') ? String(o.apiVersion).split('/')[0] : '';
  return `${String(o.kind).toLowerCase()}${group ? `.${group}` : ''}/${o.metadata?.name}`;
}

/** A part of a stream sent in one kubectl call: its CRDs, or the other documents of one namespace. */
interface Batch {
  crd: boolean;
  namespace: string;
  text: string;
  objects: KubeObject[];
}

/** A stream cut at its `---` lines (Helm's and Argo CD's) into batches, the documents' text kept as it is. */
function batchesOf(text: string, namespace: string): Batch[] {
  const docs = text.split(/^---[ \t]*$/m);
  const batches = new Map<string, Batch>();
  goRead(docs).forEach((r, i) => {
    const reading = fromJson(r.raw) as { docs?: KubeObject[]; error?: string };
    if (reading.error !== undefined) throw new Error(`kubectl cannot read document ${i}: ${reading.error}`);
    const objects = reading.docs ?? [];
    if (objects.length === 0) return;
    const crd = objects.every((o) => o.kind === 'CustomResourceDefinition');
    const ns = objects[0]!.metadata?.namespace ?? namespace;
    const key = `${crd}/${ns}`;
    const batch = batches.get(key) ?? { crd, namespace: ns, text: '', objects: [] };
    // The first document has no `---` line; the others keep the rest of theirs.
    batch.text += `---${i === 0 ? '\n' : ''}${docs[i]}${docs[i]!.endsWith('\n') ? '' : '\n'}`;
    batch.objects.push(...objects);
    batches.set(key, batch);
  });
  return [...batches.values()];
}

interface Outcome {
  code: number;
  /** The objects kubectl printed as created (server dry run). */
  accepted: string[];
  /** kubectl's error output, warnings left out, the test namespace written NS. */
  stderr: string[];
}

/** `kubectl create --dry-run=server -n NS -f -` of a batch. */
function dryRun(batch: Batch, testNamespace: string, cacheDir: string): Outcome {
  const r = kubectl(['--cache-dir', cacheDir, 'create', '--dry-run=server', '-n', batch.namespace, '-f', '-'], batch.text);
  const accepted = r.stdout.split('\n').flatMap((l) => l.match(/^(\S+) created \(server dry run\)$/)?.slice(1) ?? []);
  const stderr = r.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('Warning: ')).map((l) => l.replaceAll(testNamespace, 'NS'));
  return { code: r.code, accepted, stderr };
}

const mustKubectl = (args: string[], input?: string) => {
  const r = kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
};

/** The names of a manifest's objects still on the server (`kubectl get -o name`), or undefined when kubectl failed. */
function stillThere(text: string): string[] | undefined {
  const r = kubectl(['get', '--ignore-not-found', '-o', 'name', '-f', '-'], text);
  return r.code === 0 ? r.stdout.split('\n').filter((l) => l.trim() !== '') : undefined;
}

async function gone(text: string, ms: number): Promise<boolean> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 500))) {
    if (stillThere(text)?.length === 0) return true;
  }
  return false;
}

/**
 * Waits until the CRDs of a manifest are gone. Their cleanup finalizer has no instances to delete
 * (every object was a server dry run), yet on a loaded machine one CRD has stayed Terminating for
 * over 3 minutes; after a minute the finalizer is taken off (what it guards cannot exist), saying so.
 */
async function waitCrdsGone(text: string): Promise<void> {
  if (await gone(text, 60_000)) return;
  for (const name of stillThere(text) ?? []) {
    const crd = JSON.parse(kubectl(['get', name, '-o', 'json']).stdout || '{}');
    console.warn(`${name} still Terminating a minute after its delete; conditions: ${JSON.stringify(crd.status?.conditions ?? [])}; removing its cleanup finalizer`);
    kubectl(['patch', name, '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
  }
  if (!(await gone(text, 60_000))) throw new Error(`still there 2 minutes after their delete: ${stillThere(text)?.join(' ')}`);
}

/** Waits for CRDs just created to be Established (kubectl wait fails while they have no status yet). */
async function waitEstablished(text: string, cacheDir: string): Promise<void> {
  for (let i = 0; ; i++) {
    const r = kubectl(['--cache-dir', cacheDir, 'wait', '--for=condition=Established', '--timeout=30s', '-f', '-'], text);
    if (r.code === 0) return;
    if (i === 30) throw new Error(`CRDs not Established: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Dry-runs the plain, dev-mode and restored streams of one chart rendered into `namespace`:
 * the CRDs first, then (the CRDs created for real, and the other namespaces the chart names
 * if they are missing) the rest, each namespace's objects with `-n` it; what was created is
 * deleted at the end. Asserts that every object is accepted but `refused`, alike in all
 * three. Returns how many objects the dev-mode output has.
 */
async function checkServerAccepts(namespace: string, streams: { plain: string; dev: string; restored: string }, refused: Refusal = { objects: [], stderr: [] }): Promise<number> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'kubectl-cache-'));
  const parts = Object.entries(streams).map(([what, text]) => ({ what, batches: batchesOf(text, namespace), outcomes: [] as Outcome[] }));
  const crds = parts[0]!.batches.filter((b) => b.crd);
  const otherNamespaces = [...new Set(parts.flatMap((p) => p.batches.map((b) => b.namespace)))].filter((ns) => ns !== namespace);
  const created = otherNamespaces.filter((ns) => kubectl(['get', 'namespace', ns]).code !== 0);
  for (const p of parts) for (const b of p.batches.filter((b) => b.crd)) p.outcomes.push(dryRun(b, namespace, cacheDir));
  try {
    for (const ns of created) mustKubectl(['create', 'namespace', ns]);
    for (const b of crds) {
      mustKubectl(['--cache-dir', cacheDir, 'create', '-f', '-'], b.text);
      await waitEstablished(b.text, cacheDir);
    }
    for (const p of parts) for (const b of p.batches.filter((b) => !b.crd)) p.outcomes.push(dryRun(b, namespace, cacheDir));
  } finally {
    for (const b of crds) kubectl(['delete', '--ignore-not-found', '--wait', '-f', '-'], b.text);
    // The next chart (or Helm major) creates the same CRDs.
    for (const b of crds) await waitCrdsGone(b.text);
    for (const ns of created) kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait']);
  }
  for (const { what, batches, outcomes } of parts) {
    const objects = batches.flatMap((b) => b.objects.map(printedName)).sort();
    const accepted = outcomes.flatMap((o) => o.accepted).sort();
    const notCreated = objects.filter((name, i) => objects.indexOf(name) === i).flatMap((name) => Array(objects.filter((n) => n === name).length - accepted.filter((a) => a === name).length).fill(name) as string[]);
    expect({ notCreated, stderr: outcomes.flatMap((o) => o.stderr) }, `${what}: refused`).toEqual({ notCreated: [...refused.objects].sort(), stderr: refused.stderr });
    expect(accepted.length, `${what}: objects created (server dry run)`).toBe(objects.length - refused.objects.length);
    for (const o of outcomes) expect(o.code, `${what}: exit code`).toBe(o.stderr.length === 0 ? 0 : 1);
  }
  return parts[1]!.batches.reduce((n, b) => n + b.objects.length, 0);
}

/** `kubectl dev end --local` of a stream: its restore. */
function endLocal(dev: string): string {
  const r = run(NODE, [BIN, 'end', '--local', '-f', '-'], { input: dev });
  if (r.code !== 0) throw new Error(`end --local failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const available = publicChartsAvailable();

describe.skipIf(!available).each([3, 4] as const)('real charts through Helm %i in dev mode, accepted by the API server (--dry-run=server)', (major) => {
  let helm: HelmSetup;
  let kc: k8s.KubeConfig;
  const tally = { charts: 0, objects: 0, workloads: 0 };
  beforeAll(() => {
    helm = helmSetup(major);
    kc = testKubeConfig();
  });
  afterAll(() => {
    console.log(`Helm ${major}: ${tally.charts} charts, ${tally.objects} objects (dev-mode output), ${tally.workloads} workloads in dev mode, dry-run by the API server as plain, dev mode and restored`);
  });

  it.each(PUBLIC_CHARTS.map((c) => [publicChartTitle(c), c] as const))('%s', { timeout: 300_000 }, async (_name, chart) => {
    const dir = publicChartPath(chart);
    if (dir === undefined) throw new Error(`${chart.module} is not downloadable`);
    const ns = await createTestNamespace(kc, `charts${major}`);
    try {
      const { plain, dev, workloads } = helmAllInDevMode(helm, dir, ns.name);
      tally.objects += await checkServerAccepts(ns.name, { plain, dev, restored: endLocal(dev) }, REFUSED[chart.path.split('/').at(-1)!]);
      tally.charts++;
      tally.workloads += workloads.length;
    } finally {
      await ns.remove();
    }
  });

  it('covers every chart', () => {
    expect(tally.charts).toBe(PUBLIC_CHARTS.length);
    expect(tally.workloads).toBeGreaterThanOrEqual(20);
  });
});

describe.skipIf(!available)('a real install stream without Helm in dev mode: Argo CD, accepted by the API server', () => {
  it(`argo-cd ${ARGO_CD.path} from ${ARGO_CD.module}`, { timeout: 300_000 }, async () => {
    const file = publicChartPath(ARGO_CD);
    if (file === undefined) throw new Error('argo-cd is not downloadable');
    const plain = readFileSync(file, 'utf8');
    const ns = await createTestNamespace(testKubeConfig(), 'charts-argocd');
    try {
      const { dev, workloads } = renderAllInDevMode(plain, (config) => cliRenderForce(plain, config));
      expect(workloads.length).toBeGreaterThanOrEqual(6);
      const objects = await checkServerAccepts(ns.name, { plain, dev, restored: endLocal(dev) }, REFUSED['argo-cd']);
      console.log(`Argo CD: ${objects} objects (dev-mode output), ${workloads.length} workloads in dev mode, dry-run by the API server as plain, dev mode and restored`);
    } finally {
      await ns.remove();
    }
  });
});
