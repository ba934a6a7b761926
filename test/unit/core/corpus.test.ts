// Property over the corpus of real public manifests (../shared/corpus, listed in its
// SOURCES.md): for every workload x, exit(enter(x)) == x, and every other document
// passes through unchanged. An Argo Rollout whose template is in a Deployment (workloadRef)
// is entered with that Deployment, which passes through.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { enter } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { exit } from '../../../src/core/exit.ts';
import { podTemplateOf, workloadKindOf } from '../../../src/core/kinds.ts';
import { holderTemplateOf, isHolderOf, templateHolderRefOf } from '../../../src/core/template-holder.ts';
import { parseManifests } from '../../../src/core/manifests.ts';
import type { KubeObject } from '../../../src/core/objects.ts';

const CORPUS = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'corpus');
const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();
const documents = files.flatMap((file) =>
  parseManifests(readFileSync(join(CORPUS, file), 'utf8'), file).map((p) => ({ file, object: p.object })),
);
const looksLikeWorkload = (o: KubeObject) => workloadKindOf(o) !== undefined;

/** The objects of the same file that hold the workload's pod template (a Rollout's workloadRef). */
function holdersOf(obj: KubeObject): KubeObject[] {
  const ref = templateHolderRefOf(obj, workloadKindOf(obj)!);
  const file = documents.find((d) => d.object === obj)?.file;
  return ref ? documents.filter((d) => d.file === file && isHolderOf(d.object, ref, obj)).map((d) => d.object) : [];
}

/** The workload's pod template, its own or its holder's. */
function templateOf(obj: KubeObject) {
  const kind = workloadKindOf(obj)!;
  const ref = templateHolderRefOf(obj, kind);
  return ref ? holderTemplateOf(structuredClone(holdersOf(obj)[0]), ref, obj) : podTemplateOf(structuredClone(obj), kind);
}

/** The container the property uses: the default-container annotation, else the first app container. */
function containerFor(obj: KubeObject): string {
  const template = templateOf(obj);
  const annotations = (template.metadata.annotations ?? {}) as Record<string, string>;
  const fromAnnotation = annotations['kubectl.kubernetes.io/default-container'];
  return fromAnnotation ?? String((template.spec.containers as { name: string }[])[0]!.name);
}

/** The error enter gives for the workload alone (fails the test when it enters dev mode). */
function refusalOf(object: KubeObject): DevError {
  try {
    enter([object], { settings: { container: containerFor(object), image: 'registry.example/dev:1' } });
  } catch (error) {
    expect(error).toBeInstanceOf(DevError);
    return error as DevError;
  }
  throw new Error(`${object.kind}/${object.metadata?.name} entered dev mode; a refusal was expected`);
}

describe('corpus of real manifests', () => {
  it('holds the 61 workload documents SOURCES.md lists', () => {
    expect(files.length).toBe(30);
    expect(documents.filter((d) => looksLikeWorkload(d.object)).length).toBe(61);
  });

  // Pods on the host network are refused (issue 17: the sidecar's ports would be the node's): below.
  const onHostNetwork = (o: KubeObject) => templateOf(o).spec.hostNetwork === true;
  const workloads = documents.filter((d) => workloadKindOf(d.object) !== undefined && !onHostNetwork(d.object));

  it.each(documents.filter((d) => workloadKindOf(d.object) !== undefined && onHostNetwork(d.object)).map((d) => [`${d.file} ${d.object.kind}/${d.object.metadata?.name}`, d.object] as const))(
    'refuses %s (hostNetwork: true) with the reason and a way out', (_label, object) => {
      const caught = refusalOf(object);
      expect(caught.code).toBe('INVALID_INPUT');
      expect(caught.message).toMatch(/hostNetwork: true.*node's own loopback ports 22000 and 8384/);
      expect(caught.hint).toMatch(/delete hostNetwork/);
    });
  // DaemonSets that nodes may need are refused unless forced (issue 17); the property below forces them.
  const nodeCritical = (o: KubeObject) => workloadKindOf(o)!.pause?.by === 'node-selector'
    && (o.metadata?.namespace === 'kube-system' || /^system-(node|cluster)-critical$/.test(String(templateOf(o).spec.priorityClassName)));
  it('has node-critical DaemonSets to refuse', () => expect(workloads.filter((d) => nodeCritical(d.object)).length).toBeGreaterThan(0));
  it.each(workloads.filter((d) => nodeCritical(d.object)).map((d) => [`${d.file} ${d.object.kind}/${d.object.metadata?.name}`, d.object] as const))(
    'refuses %s (node-critical) unless forced, with the reason and a way out', (_label, object) => {
      const caught = refusalOf(object);
      expect(caught.code).toBe('NODE_CRITICAL');
      expect(caught.message).toMatch(/(runs in kube-system|has priorityClassName system-(node|cluster)-critical): dev mode would stop its pod on every node/);
      expect(caught.hint).toMatch(/--force/);
      expect(enter([object], { settings: { container: containerFor(object), image: 'registry.example/dev:1' }, force: true })).toHaveLength(2);
    });
  it.each(workloads.map((d) => [`${d.file} ${d.object.kind}/${d.object.metadata?.name}`, d.object] as const))('exit(enter(x)) == x for %s', (_label, object) => {
    const before = structuredClone(object);
    const holders = holdersOf(object);
    const entered = enter([object], { settings: { container: containerFor(object), image: 'registry.example/dev:1' }, force: true, ...(holders.length > 0 ? { context: holders } : {}) });
    expect(object).toEqual(before);
    expect(entered[0]).not.toEqual(object);
    expect(exit(entered)).toEqual([object]);
  });

  it('passes every non-workload document through untouched', () => {
    const others = documents.filter((d) => !looksLikeWorkload(d.object)).map((d) => d.object);
    expect(others.length).toBeGreaterThan(100);
    expect(enter(others)).toEqual(others);
  });

  const rolloutFiles = [...new Set(documents.filter((d) => d.object.kind === 'Rollout').map((d) => d.file))];
  it('has the two Argo Rollouts documents', () => expect(rolloutFiles).toEqual(['argo-rollouts__rollout-bluegreen.yaml', 'argo-rollouts__workload-ref.yaml']));
  it.each(rolloutFiles)('round-trips the whole of %s: the Rollout paused at 0 replicas, a dev Deployment, the rest untouched', (file) => {
    const objects = documents.filter((d) => d.file === file).map((d) => d.object);
    const entered = enter(objects);
    const rollout = entered.find((o) => o.kind === 'Rollout')!;
    expect(rollout.spec).toMatchObject({ replicas: 0, paused: true });
    const generated = entered.filter((o) => !objects.includes(o) && o !== rollout);
    expect(generated.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual([`Deployment/${rollout.metadata?.name}-dev`]);
    expect(entered.filter((o) => objects.includes(o))).toHaveLength(objects.length - 1);
    expect(exit(entered)).toEqual(objects);
  });
});
