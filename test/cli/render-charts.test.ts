// Real public charts through Helm 3 and Helm 4 with kubectl-dev as the post-renderer,
// every workload of each chart selected at once (a dev config names each with its first
// container), and read back by the Go reader kubectl uses (test/tools/goyaml):
//  - every document that is not a selected workload reads as the chart rendered it;
//  - each selected workload reads as the rewrite of what kubectl read of it (every field
//    dev mode does not change keeps its value and type), its saved original too;
//  - `end --local` on the output gives back what kubectl read of the chart;
//  - in-process, documents render passes through are the chart's bytes.
// The charts come from their projects' Go modules (`go mod download`, the module
// cache); sources and licenses: fixtures/CHARTS.md. Without Go or the
// module proxy the test is skipped. The API server's --dry-run=server is in the e2e
// suite's domain (it needs the cluster), not here.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { exit } from '../../src/core/exit.ts';
import { podTemplateOf, workloadKindOf } from '../../src/core/kinds.ts';
import { parseManifests, printManifests } from '../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../src/core/marks.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { fromJson } from '../../src/core/yaml/json.ts';
import { cutStream } from '../../src/core/yaml/scan.ts';
import { parseDevConfig } from '../../src/config/devconfig.ts';
import { render } from '../../src/render/index.ts';
import { rewriteOne } from '../../src/render/select.ts';
import { isTransportAnnotation } from '../../src/render/transport.ts';
import { goRead } from '../tools/goyaml.ts';
import { helmSetup, NODE, run, type HelmSetup } from './render-support.ts';
import { BIN } from './run-cli.ts';

/** module@version, the chart's path in it, what it is. */
export const CHARTS: readonly { module: string; path: string; what: string }[] = [
  { module: 'github.com/cert-manager/cert-manager@v1.21.2', path: 'deploy/charts/cert-manager', what: 'certificates' },
  { module: 'github.com/cert-manager/trust-manager@v0.25.0', path: 'deploy/charts/trust-manager', what: 'certificates' },
  { module: 'k8s.io/ingress-nginx@v0.0.0-20240708192948-52c50467d67d', path: 'charts/ingress-nginx', what: 'ingress' },
  { module: 'sigs.k8s.io/metrics-server@v0.9.0', path: 'charts/metrics-server', what: 'monitoring' },
  { module: 'github.com/open-policy-agent/gatekeeper/v3@v3.23.1', path: 'charts/gatekeeper', what: 'policy (CRD-heavy)' },
  { module: 'github.com/dapr/dapr@v1.14.0', path: 'charts/dapr', what: 'runtime, seven subcharts' },
  { module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', path: 'manifests/charts/base', what: 'service mesh CRDs (no workload)' },
  { module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', path: 'manifests/charts/istio-control/istio-discovery', what: 'service mesh control plane' },
  { module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', path: 'manifests/charts/gateway', what: 'ingress gateway' },
  { module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', path: 'manifests/charts/istio-cni', what: 'CNI DaemonSet' },
  { module: 'istio.io/istio@v0.0.0-20260827124520-eed52ebb66ad', path: 'manifests/charts/ztunnel', what: 'ambient DaemonSet' },
  { module: 'sigs.k8s.io/descheduler@v0.36.0', path: 'charts/descheduler', what: 'CronJob' },
  { module: 'github.com/bitnami-labs/sealed-secrets@v0.40.0', path: 'helm/sealed-secrets', what: 'secrets' },
  { module: 'github.com/rancher/local-path-provisioner@v0.0.30', path: 'deploy/chart/local-path-provisioner', what: 'storage' },
  { module: 'sigs.k8s.io/external-dns@v0.15.0', path: 'charts/external-dns', what: 'DNS' },
];

/** A module's directory, or undefined without Go or the module proxy. */
function moduleDir(module: string): string | undefined {
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 300_000, cwd: tmpdir() });
    const dir = (JSON.parse(out) as { Dir?: string }).Dir;
    return dir && existsSync(dir) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Values compared as the API server decodes JSON (see yaml-differential.test.ts). */
function canon(value: unknown): unknown {
  if (typeof value === 'bigint' || typeof value === 'number') {
    const text = String(value);
    if (/^-?[0-9]+$/.test(text) && BigInt(text) >= INT64_MIN && BigInt(text) <= INT64_MAX) return `#${BigInt(text)}`;
    return `#${Number(text)}`;
  }
  if (Array.isArray(value)) return value.map(canon);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canon((value as Record<string, unknown>)[k])]));
  return value;
}

/**
 * An object as compared: the trip's annotations off, the saved original parsed, and an
 * empty or null `annotations:` taken as none — Helm 4 adds its file-name annotation to
 * every document for the post-renderer and removes it afterwards, leaving no
 * `annotations` where the chart rendered `annotations:` (the API server reads both alike).
 */
function normal(obj: KubeObject): unknown {
  const plain = (o: { annotations?: unknown }) => {
    const out = { ...o };
    if (out.annotations === null || (typeof out.annotations === 'object' && Object.keys(out.annotations as object).length === 0)) delete out.annotations;
    return out;
  };
  const annotations = obj.metadata?.annotations;
  const metadata: Record<string, unknown> = { ...obj.metadata };
  if (annotations) {
    metadata.annotations = Object.fromEntries(Object.entries(annotations).filter(([k]) => !isTransportAnnotation(k))
      .map(([k, v]) => [k, k === ORIGINAL_ANNOTATION ? plain(fromJson(v) as { annotations?: unknown }) : v]));
  }
  return canon({ ...obj, metadata: plain(metadata) });
}

const id = (o: KubeObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** What kubectl reads of a stream, by object. */
function goObjects(text: string): Map<string, KubeObject> {
  const [result] = goRead([text]);
  const reading = fromJson(result!.raw) as { docs?: KubeObject[]; error?: string };
  if (reading.error !== undefined) throw new Error(`kubectl cannot read it: ${reading.error}`);
  return new Map((reading.docs ?? []).map((d) => [id(d), d]));
}

function workloadsOf(objects: Iterable<KubeObject>): { obj: KubeObject; container: string }[] {
  return [...objects].flatMap((obj) => {
    const kind = workloadKindOf(obj);
    if (!kind || obj.metadata?.annotations?.['helm.sh/hook'] || obj.metadata?.ownerReferences) return [];
    const containers = podTemplateOf(structuredClone(obj), kind).spec.containers as { name: string }[] | undefined;
    return containers?.[0] ? [{ obj, container: containers[0].name }] : [];
  });
}

function devConfig(workloads: readonly { obj: KubeObject; container: string }[]): string {
  return `workloads:\n${workloads.map(({ obj, container }) => `  ${String(obj.kind).toLowerCase()}/${obj.metadata?.name}:\n    container: ${container}\n${obj.metadata?.namespace ? `    namespace: ${obj.metadata.namespace}\n` : ''}`).join('')}`;
}

function workloads0(plainText: string): { obj: KubeObject; container: string }[] {
  return workloadsOf(goObjects(plainText).values());
}

/**
 * Every workload of a rendered stream selected at once (a dev config; --force: CNI and
 * node-agent DaemonSets too), rendered by
 * `renderWith(configPath)`, then checked against what kubectl reads of the input.
 */
function checkRendered(plainText: string, renderWith: (config: string) => string): { workloads: number; documents: number } {
  const plain = goObjects(plainText);
  const workloads = workloadsOf(plain.values());
  const config = join(mkdtempSync(join(tmpdir(), 'charts-')), 'dev.yaml');
  writeFileSync(config, devConfig(workloads));
  const outText = renderWith(config);
  const out = goObjects(outText);

  // What kubectl should read: every workload rewritten as kubectl read it, everything else as rendered.
  const want = new Map<string, unknown>();
  for (const [key, obj] of plain) want.set(key, normal(obj));
  for (const { obj, container } of workloads) {
    const [workload, ...generated] = rewriteOne(structuredClone(obj), { kind: workloadKindOf(obj)!, name: String(obj.metadata?.name), settings: { container }, force: true }, { source: 'chart', document: 0, line: 1 });
    want.set(id(obj), normal(workload!));
    for (const g of generated) want.set(id(g), normal(g));
  }
  expect([...out.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [key, obj] of out) expect(normal(obj), key).toEqual(want.get(key));

  // end --local: back to what kubectl read of the chart.
  const parsed = parseManifests(outText, 'out');
  const back = goObjects(printManifests(exit(parsed.map((p) => p.object)), 'yaml', parsed));
  expect([...back.keys()].sort()).toEqual([...plain.keys()].sort());
  for (const [key, obj] of back) expect(normal(obj), key).toEqual(normal(plain.get(key)!));

  // In-process: what render does not rewrite is the chart's text, byte for byte.
  const outcome = render(plainText, { config: parseDevConfig(readFileSync(config, 'utf8'), 'dev.yaml'), force: true });
  expect(outcome.error).toBeUndefined();
  const selected = new Set(workloads.map(({ obj }) => id(obj)));
  for (const chunk of cutStream(plainText).chunks) {
    const text = plainText.slice(chunk.start, chunk.end);
    const objects = chunk.content < 0 ? [] : parseManifests(text, 'chunk').map((p) => ({ ...p.object, metadata: { ...p.object.metadata, namespace: p.object.metadata?.namespace ?? 'apps' } }));
    if (!objects.some((o) => selected.has(id(o)) || selected.has(id({ ...o, metadata: { ...o.metadata, namespace: undefined } })))) expect(outcome.stdout.includes(text)).toBe(true);
  }
  return { workloads: workloads.length, documents: plain.size };
}

const dirs = new Map<string, string | undefined>();
const chartDir = (c: (typeof CHARTS)[number]) => {
  if (!dirs.has(c.module)) dirs.set(c.module, moduleDir(c.module));
  const dir = dirs.get(c.module);
  return dir ? join(dir, c.path) : undefined;
};
const available = moduleDir(CHARTS[0]!.module) !== undefined;

describe.skipIf(!available).each([3, 4] as const)('real charts through Helm %i with kubectl-dev as post-renderer', (major) => {
  let helm: HelmSetup;
  const tally = { charts: 0, workloads: 0, documents: 0 };
  beforeAll(() => {
    helm = helmSetup(major);
  });

  it.each(CHARTS.map((c) => [`${c.path.split('/').at(-1)} (${c.what}) from ${c.module}`, c] as const))('%s', { timeout: 300_000 }, (_name, chart) => {
    const dir = chartDir(chart);
    if (dir === undefined) throw new Error(`${chart.module} is not downloadable`);
    const template = (extra: readonly string[]) => {
      const r = run(helm.bin, ['template', 'rel', dir, '-n', 'apps', '--include-crds', ...extra], { env: helm.env, timeout: 240_000 });
      if (r.code !== 0) throw new Error(`helm ${major} template failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };
    const plainText = template([]);
    const { workloads, documents } = checkRendered(plainText, (config) => template(workloads0(plainText).length > 0 ? helm.postRenderer(['--config', config, '--force']) : []));
    tally.charts++;
    tally.workloads += workloads;
    tally.documents += documents;
  });

  it('covers a dozen charts and their workloads', () => {
    console.log(`Helm ${major}: ${tally.charts} charts, ${tally.documents} documents, ${tally.workloads} workloads put in dev mode at once, read back by the Go reader`);
    expect(tally.charts).toBe(CHARTS.length);
    expect(tally.workloads).toBeGreaterThanOrEqual(20);
  });
});

describe.skipIf(!available)('a real install stream without Helm: Argo CD (GitOps), through the CLI', () => {
  it('argo-cd manifests/install.yaml from github.com/argoproj/argo-cd/v2@v2.14.21', { timeout: 300_000 }, () => {
    const dir = moduleDir('github.com/argoproj/argo-cd/v2@v2.14.21');
    if (dir === undefined) throw new Error('argo-cd is not downloadable');
    const plainText = readFileSync(join(dir, 'manifests', 'install.yaml'), 'utf8');
    const { workloads } = checkRendered(plainText, (config) => {
      const r = run(NODE, [BIN, 'render', '--config', config, '--force'], { input: plainText });
      if (r.code !== 0) throw new Error(`render failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    });
    expect(workloads).toBeGreaterThanOrEqual(6);
  });
});
