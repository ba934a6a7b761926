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
// module proxy the test is skipped. The API server's --dry-run=server of the same
// renders: test/e2e/charts-server.test.ts.

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exit } from '../../src/core/exit.ts';
import { workloadKindOf } from '../../src/core/kinds.ts';
import { parseManifests, printManifests } from '../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../src/core/marks.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { fromJson } from '../../src/core/yaml/json.ts';
import { cutStream } from '../../src/core/yaml/scan.ts';
import { parseDevConfig } from '../../src/config/devconfig.ts';
import { render } from '../../src/render/index.ts';
import { rewriteOne } from '../../src/render/select.ts';
import { isTransportAnnotation } from '../../src/render/transport.ts';
import {
  ARGO_CD,
  cliRenderForce,
  goObjects,
  helmAllInDevMode,
  helmSetup,
  objectId,
  PUBLIC_CHARTS,
  publicChartPath,
  publicChartsAvailable,
  publicChartTitle,
  renderAllInDevMode,
  type ChosenWorkload,
  type HelmSetup,
} from './render-support.ts';

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

/**
 * Every workload of a rendered stream selected at once (a dev config; --force: CNI and
 * node-agent DaemonSets too), as `renderAllInDevMode` rendered it, checked against what
 * kubectl reads of the input.
 */
function checkRendered(plainText: string, rendered: { workloads: readonly ChosenWorkload[]; config: string; dev: string }): { workloads: number; documents: number } {
  const plain = goObjects(plainText);
  const { workloads, config, dev: outText } = rendered;
  const out = goObjects(outText);

  // What kubectl should read: every workload rewritten as kubectl read it, everything else as rendered.
  const want = new Map<string, unknown>();
  for (const [key, obj] of plain) want.set(key, normal(obj));
  for (const { obj, container } of workloads) {
    const [workload, ...generated] = rewriteOne(structuredClone(obj), { kind: workloadKindOf(obj)!, name: String(obj.metadata?.name), settings: { container }, force: true }, { source: 'chart', document: 0, line: 1 });
    want.set(objectId(obj), normal(workload!));
    for (const g of generated) want.set(objectId(g), normal(g));
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
  const selected = new Set(workloads.map(({ obj }) => objectId(obj)));
  for (const chunk of cutStream(plainText).chunks) {
    const text = plainText.slice(chunk.start, chunk.end);
    const objects = chunk.content < 0 ? [] : parseManifests(text, 'chunk').map((p) => ({ ...p.object, metadata: { ...p.object.metadata, namespace: p.object.metadata?.namespace ?? 'apps' } }));
    if (!objects.some((o) => selected.has(objectId(o)) || selected.has(objectId({ ...o, metadata: { ...o.metadata, namespace: undefined } })))) expect(outcome.stdout.includes(text)).toBe(true);
  }
  return { workloads: workloads.length, documents: plain.size };
}

const available = publicChartsAvailable();

describe.skipIf(!available).each([3, 4] as const)('real charts through Helm %i with kubectl-dev as post-renderer', (major) => {
  let helm: HelmSetup;
  const tally = { charts: 0, workloads: 0, documents: 0 };
  beforeAll(() => {
    helm = helmSetup(major);
  });

  it.each(PUBLIC_CHARTS.map((c) => [publicChartTitle(c), c] as const))('%s', { timeout: 300_000 }, (_name, chart) => {
    const dir = publicChartPath(chart);
    if (dir === undefined) throw new Error(`${chart.module} is not downloadable`);
    const rendered = helmAllInDevMode(helm, dir, 'apps');
    const { workloads, documents } = checkRendered(rendered.plain, rendered);
    tally.charts++;
    tally.workloads += workloads;
    tally.documents += documents;
  });

  it('covers a dozen charts and their workloads', () => {
    console.log(`Helm ${major}: ${tally.charts} charts, ${tally.documents} documents, ${tally.workloads} workloads put in dev mode at once, read back by the Go reader`);
    expect(tally.charts).toBe(PUBLIC_CHARTS.length);
    expect(tally.workloads).toBeGreaterThanOrEqual(20);
  });
});

describe.skipIf(!available)('a real install stream without Helm: Argo CD (GitOps), through the CLI', () => {
  it(`argo-cd ${ARGO_CD.path} from ${ARGO_CD.module}`, { timeout: 300_000 }, () => {
    const file = publicChartPath(ARGO_CD);
    if (file === undefined) throw new Error('argo-cd is not downloadable');
    const plainText = readFileSync(file, 'utf8');
    const { workloads } = checkRendered(plainText, renderAllInDevMode(plainText, (config) => cliRenderForce(plainText, config)));
    expect(workloads).toBeGreaterThanOrEqual(6);
  });
});
