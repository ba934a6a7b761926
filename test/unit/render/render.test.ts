// render in-process: selection, byte-for-byte pass-through, Helm and kustomize
// annotations, the one rewrite (core.enter), determinism, bad input, KRM mode.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { enter } from '../../../src/core/enter.ts';
import { exit } from '../../../src/core/exit.ts';
import { parseWorkloadRef, podTemplateOf, workloadKindOf } from '../../../src/core/kinds.ts';
import { holderTemplateOf, isHolderOf, templateHolderRefOf } from '../../../src/core/template-holder.ts';
import { parseManifests, printManifests } from '../../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { render, type RenderOptions } from '../../../src/render/index.ts';

const CORPUS = join(import.meta.dirname, '..', '..', '..', '..', 'shared', 'corpus');
const BOOKINFO = readFileSync(join(CORPUS, 'istio__bookinfo.yaml'), 'utf8');
const SHOP = readFileSync(join(import.meta.dirname, '..', '..', '..', 'fixtures', 'mixed-stream-with-hook', 'input.yaml'), 'utf8');

const objects = (text: string) => parseManifests(text, 'out').map((p) => p.object);
const sel = (...refs: string[]): RenderOptions => ({ selects: refs.map((r) => parseWorkloadRef(r)) });

function ok(text: string, options: RenderOptions = {}) {
  const outcome = render(text, options);
  if (outcome.error) throw outcome.error;
  return outcome;
}

function failed(text: string, options: RenderOptions = {}) {
  const outcome = render(text, options);
  expect(outcome.error, 'render should fail').toBeDefined();
  return outcome as typeof outcome & { error: NonNullable<typeof outcome.error> };
}

const deployment = (name: string, extra: Record<string, unknown> = {}) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${Object.entries(extra).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`).join('')}spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: ${name}, image: "example.com/${name}:1"}
`;

describe('render: selection', () => {
  it('passes a stream with nothing selected through byte for byte, with a warning', () => {
    const outcome = ok(BOOKINFO);
    expect(outcome.mode).toBe('stream');
    expect(outcome.stdout).toBe(BOOKINFO);
    expect(outcome.warnings).toEqual([expect.stringContaining('nothing selected')]);
  });

  it('--select puts exactly that workload in dev mode, the same way as core.enter', () => {
    const input = objects(BOOKINFO);
    const outcome = ok(BOOKINFO, { ...sel('deployment/reviews-v1'), settings: { image: 'node:24' } });
    expect(outcome.warnings).toEqual([]);
    expect(objects(outcome.stdout)).toEqual(enter(input, { targets: [parseWorkloadRef('deploy/reviews-v1')], settings: { image: 'node:24' } }));
  });

  it('copies every document it does not change from the input text', () => {
    const outcome = ok(BOOKINFO, sel('deploy/reviews-v2'));
    const cut = BOOKINFO.indexOf('apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: reviews-v2');
    const before = BOOKINFO.lastIndexOf('---', cut);
    expect(outcome.stdout.startsWith(BOOKINFO.slice(0, before))).toBe(true);
    const next = BOOKINFO.indexOf('\n---', cut) + 1;
    expect(outcome.stdout.endsWith(BOOKINFO.slice(next))).toBe(true);
  });

  it('keeps the comments above a changed document (Helm 3\'s # Source: lines)', () => {
    const text = `---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# Source: app/templates/a.yaml\n# second line\n${deployment('a')}`;
    const out = ok(text, sel('deploy/a')).stdout;
    expect(out.startsWith('---\n# Source: app/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n# Source: app/templates/a.yaml\n# second line\napiVersion: apps/v1\n')).toBe(true);
  });

  it('prints a changed workload exactly as start --local does', () => {
    const input = parseManifests(BOOKINFO, 'bookinfo.yaml');
    const local = printManifests(enter(input.map((p) => p.object), { targets: [parseWorkloadRef('deploy/ratings-v1')] }), 'yaml', input);
    const rendered = ok(BOOKINFO, sel('deploy/ratings-v1')).stdout;
    const doc = (text: string) => text.split(/^---\n/m).find((d) => d.includes('name: ratings-v1\n') && d.includes('kind: Deployment') && d.includes(ORIGINAL_ANNOTATION))!;
    expect(doc(rendered).replace(/^(#.*\n)+/, '')).toBe(doc(local).replace(/^(#.*\n)+/, ''));
  });

  it('selects workloads with the opt-in annotation, keeps the annotation, and ignores "false"', () => {
    const text = [deployment('a', { annotations: { 'dev.kubectl-dev.io/enabled': 'true' } }), deployment('b', { annotations: { 'dev.kubectl-dev.io/enabled': 'false' } })].join('---\n');
    const [a, b] = objects(ok(text).stdout);
    expect(a?.metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBe('true');
    expect(a?.metadata?.annotations?.['dev.kubectl-dev.io/enabled']).toBe('true');
    // The saved original holds it too, so `end` gives back what the chart rendered.
    expect(JSON.parse(a?.metadata?.annotations?.[ORIGINAL_ANNOTATION] as string).annotations).toEqual({ 'dev.kubectl-dev.io/enabled': 'true' });
    expect(b).toEqual(objects(text)[1]);
  });

  it.each([
    ['plain metadata', '  annotations:\n    dev.kubectl-dev.io/enabled: "true"\n'],
    ['a comment at column 0 inside metadata', '  annotations:\n# a comment\n    dev.kubectl-dev.io/enabled: "true"\n'],
    ['Helm 4\'s closing quote at column 0', "  annotations:\n    note: 'a\n\n    b\n\n'\n    dev.kubectl-dev.io/enabled: \"true\"\n"],
    ['an alias into the rest of the document', '  annotations: *opt\n'],
    ['metadata after spec', null],
  ])('decides from the metadata alone, or from the whole document when it must: %s', (_name, meta) => {
    const base = deployment('a');
    const text = meta === null
      ? `${base.replace('metadata:\n  name: a\n', '')}metadata:\n  name: a\n  annotations: {dev.kubectl-dev.io/enabled: "true"}\n`
      : meta.includes('*opt')
        ? `x-opt: &opt {dev.kubectl-dev.io/enabled: "true"}\n${base.replace('  name: a\n', `  name: a\n${meta}`)}`
        : base.replace('  name: a\n', `  name: a\n${meta}`);
    const [a] = objects(ok(`${deployment('z')}---\n${text}`).stdout).slice(1);
    expect(a?.metadata?.labels?.['dev.kubectl-dev.io/dev-mode']).toBe('true');
  });

  it('warns about opt-in values other than "true" and "false"', () => {
    const outcome = ok(deployment('a', { annotations: { 'dev.kubectl-dev.io/enabled': 'yes' } }));
    expect(outcome.warnings[0]).toContain('dev.kubectl-dev.io/enabled is "yes"; only "true" selects the workload');
  });

  it('selects the workloads of the dev config with their settings; flags win', () => {
    const config = parseDevConfig('defaults: {workdir: /app}\nworkloads:\n  deploy/b: {image: cfg:1, env: {A: "1"}}\n  deploy/missing: {}\n', 'dev.yaml');
    const text = [deployment('a'), deployment('b')].join('---\n');
    const [a, b] = objects(ok(text, { config, settings: { env: [{ name: 'A', value: 'flag' }] } }).stdout);
    expect(a).toEqual(objects(text)[0]);
    const container = (podTemplateOf(b!, workloadKindOf(b!)!).spec.containers as Record<string, unknown>[])[0]!;
    expect(container).toMatchObject({ image: 'cfg:1', workingDir: '/app', env: [{ name: 'A', value: 'flag' }] });
  });

  it('puts each workload in dev mode once when several ways select it', () => {
    const text = deployment('a', { annotations: { 'dev.kubectl-dev.io/enabled': 'true' } });
    const config = parseDevConfig('workloads: {deploy/a: {}}', 'c');
    expect(ok(text, { ...sel('deploy/a', 'deployment/a'), config }).stdout).toBe(ok(text, sel('deploy/a')).stdout);
  });

  it('--select with a namespace matches that namespace and objects without one', () => {
    const text = [deployment('a', { namespace: 'x' }), deployment('a', { namespace: 'y' })].join('---\n');
    const out = objects(ok(text, { selects: [parseWorkloadRef('deploy/a', 'y')] }).stdout);
    expect(out.map((o) => o.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'])).toEqual([undefined, 'true']);
  });

  it('leaves Helm hooks alone and refuses to select one', () => {
    const outcome = ok(SHOP, sel('deploy/shop'));
    expect(objects(outcome.stdout)[3]).toEqual(objects(SHOP)[3]);
    const error = failed(SHOP, sel('job/shop-migrate')).error;
    // Exit 3 (the input's workload cannot be used), as README and docs/render.md say.
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toBe('job/shop-migrate is a Helm hook (helm.sh/hook: pre-upgrade); dev mode leaves hooks as they are');
  });

  it('keeps Helm 4\'s file annotation on every document but out of the saved original', () => {
    const out = objects(ok(SHOP, sel('deploy/shop')).stdout);
    const shop = out[2]!;
    expect(shop.metadata?.annotations?.['postrenderer.helm.sh/postrender-filename']).toBe('shop/templates/deployment.yaml');
    expect(Object.keys(shop.metadata!.annotations!)[0]).toBe('postrenderer.helm.sh/postrender-filename');
    const original = JSON.parse(shop.metadata?.annotations?.[ORIGINAL_ANNOTATION] as string);
    expect(original.annotations).toBeUndefined();
    // `end` restores the chart's object without the trip annotation.
    const restored = exit([shop])[0]!;
    expect(restored.metadata?.annotations).toBeUndefined();
  });

  it('sends generated objects to their workload\'s Helm file, and follows the workload with them', () => {
    const cron = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  annotations: {postrenderer.helm.sh/postrender-filename: app/templates/cron.yaml}
spec:
  schedule: "0 3 * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: busybox}]}}}}
`;
    const text = `${cron}---\n${deployment('after')}`;
    const out = objects(ok(text, sel('cj/nightly')).stdout);
    expect(out.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(['CronJob/nightly', 'Job/nightly-dev', 'Deployment/after']);
    expect(out[1]?.metadata?.annotations).toEqual({ 'dev.kubectl-dev.io/generated-for': 'CronJob/nightly', 'postrenderer.helm.sh/postrender-filename': 'app/templates/cron.yaml' });
  });

  it('passes workloads already in dev mode through, and says there is nothing to change', () => {
    const once = ok(BOOKINFO, sel('deploy/reviews-v1')).stdout;
    const twice = ok(once, sel('deploy/reviews-v1'));
    expect(twice.stdout).toBe(once);
    expect(twice.warnings).toEqual([expect.stringContaining('already in dev mode')]);
  });

  it('handles List documents item by item', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [parse(deployment('a')), parse(deployment('b'))] };
    const out = objects(ok(JSON.stringify(list), sel('deploy/b')).stdout);
    expect(out).toHaveLength(1);
    expect((out[0]!.items as KubeObject[]).map((o) => o.metadata?.labels?.['dev.kubectl-dev.io/dev-mode'])).toEqual([undefined, 'true']);
  });

  it('is deterministic: the same input and options give the same bytes', () => {
    const options = { ...sel('deploy/reviews-v1', 'deploy/productpage-v1'), settings: { image: 'node:24', env: [{ name: 'A', value: 'b' }] } };
    const first = ok(BOOKINFO, options).stdout;
    for (let i = 0; i < 3; i++) expect(ok(BOOKINFO, options).stdout).toBe(first);
    expect(first).not.toMatch(/BEGIN|PRIVATE KEY|since/);
  });

  it('keeps input without a final newline as it is', () => {
    const text = `${deployment('a')}---\n${deployment('b').trimEnd()}`;
    const out = ok(text, sel('deploy/a')).stdout;
    expect(out.endsWith('---\n' + deployment('b').trimEnd())).toBe(true);
    expect(objects(out)).toHaveLength(2);
    const last = ok(`${deployment('a')}---\n${deployment('b').trimEnd()}`, sel('deploy/b')).stdout;
    expect(last.endsWith('\n')).toBe(true);
    expect(objects(last)).toHaveLength(2);
  });
});

describe('render: over the corpus, every workload alone', () => {
  const files = readdirSync(CORPUS).filter((f) => f.endsWith('.yaml')).sort();
  const cases = files.flatMap((file) => {
    const text = readFileSync(join(CORPUS, file), 'utf8');
    const parsed = parseManifests(text, file);
    return parsed.flatMap((p) => {
      const kind = workloadKindOf(p.object);
      if (!kind || p.object.metadata?.annotations?.['helm.sh/hook'] || p.object.metadata?.ownerReferences) return [];
      // A Rollout's workloadRef: its template is the named Deployment's (of the same file); that Deployment is not selectable.
      const ref = templateHolderRefOf(p.object, kind);
      const holder = ref && parsed.find((h) => isHolderOf(h.object, ref, p.object))?.object;
      const holds = (o: KubeObject) => { const r = o.kind === 'Rollout' ? templateHolderRefOf(o, workloadKindOf(o)!) : undefined; return r !== undefined && isHolderOf(p.object, r, o); };
      if (parsed.some((o) => holds(o.object))) return [];
      const template = ref ? holderTemplateOf(structuredClone(holder), ref, p.object) : podTemplateOf(structuredClone(p.object), kind);
      // Pods on the host network are refused (issue 17; test/unit/core/corpus.test.ts).
      if (template.spec.hostNetwork === true) return [];
      const container = String((template.spec.containers as { name: string }[])[0]!.name);
      return [{ file, text, ref: `${kind.kind.toLowerCase()}/${p.object.metadata?.name}`, container, namespace: p.object.metadata?.namespace }];
    });
  });

  it('covers many workloads', () => expect(cases.length).toBeGreaterThan(40));

  it.each(cases.map((c) => [`${c.file} ${c.ref}`, c] as const))('%s: exit(render(x)) == x, other documents unchanged', (_name, c) => {
    // force: node-critical DaemonSets too (their refusal: test/unit/core/corpus.test.ts).
    const outcome = ok(c.text, { selects: [parseWorkloadRef(c.ref, c.namespace)], settings: { container: c.container }, force: true });
    const input = objects(c.text);
    const output = objects(outcome.stdout);
    expect(exit(output)).toEqual(input);
    // Re-rendering rendered output changes nothing.
    expect(ok(outcome.stdout, { selects: [parseWorkloadRef(c.ref, c.namespace)], settings: { container: c.container }, force: true }).stdout).toBe(outcome.stdout);
  });
});

describe('render: an Argo Rollout whose template is in a Deployment (workloadRef)', () => {
  const text = readFileSync(join(CORPUS, 'argo-rollouts__workload-ref.yaml'), 'utf8');
  it('takes the template from the Deployment, even when the Rollout comes first', () => {
    const [deploymentDoc, rolloutDoc] = text.split('\n---\n');
    const swapped = `${rolloutDoc}\n---\n${deploymentDoc}`;
    const output = objects(ok(swapped, sel('rollout/rollout-ref-deployment')).stdout);
    expect(output.map((o) => `${o.kind}/${o.metadata?.name}`)).toEqual(['Rollout/rollout-ref-deployment', 'Deployment/rollout-ref-deployment-dev', 'Deployment/rollout-ref-deployment']);
    expect((output[1]!.spec as { template: { spec: { containers: { name: string }[] } } }).template.spec.containers[0]!.name).toBe('rollouts-demo');
    expect(exit(output)).toEqual(objects(swapped));
  });
  it('refuses to select the Deployment that holds the template', () => {
    const { error, stdout } = failed(text, sel('deployment/rollout-ref-deployment'));
    expect(stdout).toBe('');
    expect(error.code).toBe('INVALID_OPTION');
    expect(error.hint).toContain('kubectl dev start rollout/rollout-ref-deployment');
  });
  it('refuses a Rollout whose Deployment is not in the input, naming it', () => {
    const { error } = failed(text.split('\n---\n')[1]!, sel('rollout/rollout-ref-deployment'));
    expect(error.code).toBe('INVALID_INPUT');
    expect(error.message).toContain('Deployment/rollout-ref-deployment, which is not in the input');
  });
});

describe('render: bad input', () => {
  it.each([
    ['malformed YAML in a workload', `${deployment('a')}---\nkind: Deployment\nmetadata: [\n`, 'INVALID_YAML', 1, 15],
    ['a kind that cannot be read', `${deployment('a')}---\nkind: [\n`, 'INVALID_YAML', 1, 14],
    ['a numeric annotation on the selected workload', `${deployment('a', { annotations: {} })}`.replace('annotations: {}', 'annotations: {a: 1}'), 'NOT_AN_OBJECT', 0, 1],
    ['a duplicate key in the selected workload', deployment('a').replace('  name: a\n', '  name: a\n  name: a\n'), 'INVALID_YAML', 0, 5],
    ['.inf in the selected workload', deployment('a').replace('spec:\n', 'spec:\n  x: .inf\n'), 'INVALID_YAML', 0, 6],
    ['an alias bomb in the selected workload', `${deployment('a')}  x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_v, i) => `  x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`).join('')}`, 'INVALID_YAML', 0, 15],
  ])('%s: a located error, nothing on stdout', (_name, text, code, document, line) => {
    const { error, stdout } = failed(text, sel('deploy/a'));
    expect(stdout).toBe('');
    expect(error.code).toBe(code);
    expect(error.where).toMatchObject({ document, line, source: '-' });
  });

  it.each([
    ['a list', '- just\n- a list\n'],
    ['a scalar', 'hello\n'],
    ['an object without kind', 'apiVersion: v1\nmetadata: {name: x}\n'],
    ['malformed YAML in a ConfigMap', 'apiVersion: v1\nkind: ConfigMap\ndata: {a: [\n'],
    ['a duplicate key in a ConfigMap', 'apiVersion: v1\nkind: ConfigMap\ndata:\n  a: "1"\n  a: "2"\n'],
    ['.inf in a ConfigMap', 'apiVersion: v1\nkind: ConfigMap\ndata: {a: .inf}\n'],
    ['an alias bomb in a ConfigMap', `apiVersion: v1\nkind: ConfigMap\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n${Array.from({ length: 8 }, (_v, i) => `x${i + 1}: &a${i + 1} [${Array(9).fill(`*a${i}`).join(', ')}]\n`).join('')}`],
    ['nesting 20,000 levels deep in a ConfigMap', `apiVersion: v1\nkind: ConfigMap\ndata: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`],
  ])('a document render does not rewrite passes through byte for byte, whatever it holds: %s', (_name, doc) => {
    const text = `${deployment('a')}---\n${doc}---\n${deployment('b')}`;
    const out = ok(text, sel('deploy/a')).stdout;
    expect(out.endsWith(`---\n${doc}---\n${deployment('b')}`)).toBe(true);
  });

  it('deep nesting in a workload is an error, not a crash', () => {
    const deep = deployment('a').replace('spec:\n', `spec:\n  x: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const { error, stdout } = failed(deep, sel('deploy/a'));
    expect(stdout).toBe('');
    expect(error.code).toMatch(/INVALID_INPUT|INVALID_YAML/);
  });

  it('block nesting deeper than 200 levels in a workload is a located error', () => {
    let deep = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deep}\nspec:\n';
    for (let i = 1; i < 300; i++) deep += `${' '.repeat(i)}k:\n`;
    const { error, stdout } = failed(`${deployment('a')}---\n${deep}`, sel('deploy/deep'));
    expect(stdout).toBe('');
    expect(error.message).toBe('the document is nested more than 200 levels deep');
    expect(error.where).toMatchObject({ document: 1, line: 216 });
  });

  it('a --select that matches nothing lists what the input has', () => {
    const { error, stdout } = failed(BOOKINFO, sel('deploy/reviews'));
    expect(stdout).toBe('');
    expect(error.code).toBe('SELECTION_EMPTY');
    expect(error.message).toBe('--select deployment/reviews: no workload in the input matches');
    expect(error.hint).toContain('deployment/reviews-v1');
  });

  it('rewrite errors name the document and line of the workload', () => {
    const text = `${deployment('a')}---\n${deployment('b').replace('containers:\n', 'containers:\n      - {name: other, image: x}\n')}`;
    const { error } = failed(text, sel('deploy/b'));
    expect(error.code).toBe('CONTAINER_AMBIGUOUS');
    expect(error.where).toMatchObject({ document: 1, line: 13, object: 'Deployment/b' });
  });

  it('a ResourceList must be alone', () => {
    const { error } = failed(`apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n---\n${deployment('a')}`);
    expect(error.message).toContain('a ResourceList must be the only document');
  });
});

// What kustomize v5.8 sends an exec function (see test/cli/render-kustomize.test.ts).
function resourceList(items: string[], functionConfig?: string): string {
  const indent = (text: string) => text.trimEnd().split('\n').map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`)).join('\n');
  return `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${items.map(indent).join('\n')}\n${functionConfig ? `functionConfig:\n${functionConfig.trimEnd().split('\n').map((l) => `  ${l}`).join('\n')}\n` : ''}`;
}

function kustomized(name: string, index: number, extra = ''): string {
  return deployment(name).replace(`  name: ${name}\n`, `  name: ${name}
  annotations:
    internal.config.kubernetes.io/prefixes: dev-
    kustomize.config.k8s.io/id: |
      group: apps
      kind: Deployment
      name: ${name}
      version: v1
    config.kubernetes.io/index: '${index}'
    internal.config.kubernetes.io/index: '${index}'
    internal.config.kubernetes.io/annotations-migration-resource-id: '${index}'
    internal.config.kubernetes.io/id: '${index + 1}'
    config.k8s.io/id: '${index + 1}'
${extra}`);
}

describe('render: KRM ResourceList', () => {
  const fc = `apiVersion: dev.kubectl-dev.io/v1alpha1
kind: DevConfig
metadata:
  name: dev
  annotations:
    config.kubernetes.io/function: |
      exec: {path: kubectl-dev, args: [render]}
    config.kubernetes.io/local-config: 'true'
workloads:
  deploy/b: {image: 'node:24'}
`;

  it('answers a ResourceList with a ResourceList; the functionConfig selects; every annotation stays', () => {
    const input = resourceList([kustomized('a', 0), kustomized('b', 1)], fc);
    const outcome = ok(input);
    expect(outcome.mode).toBe('krm');
    const rl = parse(outcome.stdout);
    expect(rl).toMatchObject({ apiVersion: 'config.kubernetes.io/v1', kind: 'ResourceList' });
    expect(rl.functionConfig).toEqual(parse(input).functionConfig);
    const [a, b] = rl.items as KubeObject[];
    expect(a).toEqual(parse(input).items[0]);
    const inputB = parse(input).items[1] as KubeObject;
    for (const [key, value] of Object.entries(inputB.metadata!.annotations!)) expect(b!.metadata!.annotations![key]).toBe(value);
    expect(b!.metadata!.labels!['dev.kubectl-dev.io/dev-mode']).toBe('true');
    // The saved original is the object without kustomize's trip annotations.
    expect(JSON.parse(b!.metadata!.annotations![ORIGINAL_ANNOTATION]!).annotations).toBeUndefined();
    expect(rl.results).toEqual([{ message: 'Deployment/b is in dev mode (container b)', severity: 'info', resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'b' } }]);
  });

  it('keeps the YAML of unchanged items (comments included)', () => {
    const input = resourceList([`# keep me\n${kustomized('a', 0)}`, kustomized('b', 1)], fc);
    expect(ok(input).stdout).toContain('# keep me');
  });

  it('gives generated objects no kustomize ids (they are new resources)', () => {
    const ds = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
  annotations: {config.kubernetes.io/index: '0', internal.config.kubernetes.io/id: '1', config.k8s.io/id: '1'}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: agent, image: x}]}}
`;
    const rl = parse(ok(resourceList([ds]), sel('ds/agent')).stdout);
    expect(rl.items.map((o: KubeObject) => `${o.kind}/${o.metadata?.name}`)).toEqual(['DaemonSet/agent', 'Deployment/agent-dev']);
    expect(rl.items[0].metadata.annotations['config.k8s.io/id']).toBe('1');
    expect(Object.keys(rl.items[1].metadata.annotations)).toEqual(['dev.kubectl-dev.io/generated-for']);
  });

  it('reports nothing selected as a warning result and passes the items through', () => {
    const input = resourceList([kustomized('a', 0)]);
    const outcome = ok(input);
    expect(outcome.warnings).toEqual([expect.stringContaining('nothing selected')]);
    const rl = parse(outcome.stdout);
    expect(rl.items).toEqual(parse(input).items);
    expect(rl.results).toEqual([{ message: expect.stringContaining('nothing selected'), severity: 'warning' }]);
  });

  it('accepts an empty items list', () => {
    expect(parse(ok('apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n').stdout).items).toEqual([]);
  });

  it('a rewrite error: results with severity error, items unchanged, and an error for the exit code', () => {
    const bad = kustomized('b', 1).replace('containers:\n', 'containers:\n      - {name: other, image: x}\n');
    const input = resourceList([kustomized('a', 0), bad], fc);
    const outcome = failed(input);
    expect(outcome.error.code).toBe('CONTAINER_AMBIGUOUS');
    expect(outcome.error.where).toMatchObject({ path: 'items[1].containers' });
    const rl = parse(outcome.stdout);
    expect(rl.items).toEqual(parse(input).items);
    expect(rl.results).toEqual([{
      message: expect.stringContaining('the pod has 2 containers'), severity: 'error',
      resourceRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'b' }, field: { path: 'items[1].containers' },
    }]);
  });

  it('a bad functionConfig: results with severity error, naming the key and line', () => {
    const outcome = failed(resourceList([kustomized('a', 0)], fc.replace("image: 'node:24'", "imagee: 'node:24'")));
    expect(outcome.error.message).toContain('workloads["deploy/b"].imagee (line');
    expect(parse(outcome.stdout).results[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('unknown key "imagee"') });
  });

  it.each([
    ['without items', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n', 'the ResourceList has no items'],
    ['with items that are not a list', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: {a: 1}\n', 'the ResourceList items are not a list'],
    ['with an item that is not an object', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- 42\n', 'ResourceList items[0]: is a number, not a Kubernetes object'],
    ['with an item without kind', 'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  metadata: {name: x}\n', 'ResourceList items[0]: has no kind'],
    ['of another apiVersion', 'apiVersion: v1\nkind: ResourceList\nitems: []\n', 'a ResourceList must have apiVersion config.kubernetes.io/v1'],
  ])('a ResourceList %s: an error, nothing on stdout', (_name, text, message) => {
    const outcome = failed(text);
    expect(outcome.stdout).toBe('');
    expect(outcome.error.message).toContain(message);
    expect(outcome.error.where.line).toBeTypeOf('number');
  });

  it('is deterministic', () => {
    const input = resourceList([kustomized('a', 0), kustomized('b', 1)], fc);
    expect(ok(input).stdout).toBe(ok(input).stdout);
    expect(parseAllDocuments(ok(input).stdout)).toHaveLength(1);
  });
});
