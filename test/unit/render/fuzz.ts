// The input generator of the render fuzz test: 1,000 inputs from a seeded PRNG,
// made by mutating real manifests (truncation, wrong types, huge strings, deep
// nesting, binary bytes, broken ResourceLists, alias bombs, …). Deterministic: the
// same seed gives the same inputs. Used in-process (test/unit/render/fuzz.test.ts)
// and through the real CLI (test/cli/render-fuzz.test.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const FUZZ_SEED = 0x6b756265; // "kube"

/** mulberry32: small, fast, good enough for test inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CORPUS = join(ROOT, '..', 'shared', 'corpus');

const SMALL_DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  annotations:
    dev.kubectl-dev.io/enabled: "true"
    postrenderer.helm.sh/postrender-filename: app/templates/web.yaml
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
`;

const RESOURCE_LIST = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: web
    annotations: {config.kubernetes.io/index: '0', internal.config.kubernetes.io/id: '1'}
  spec:
    selector: {matchLabels: {app: web}}
    template:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: nginx}]}
- apiVersion: v1
  kind: Service
  metadata: {name: web}
  spec: {ports: [{port: 80}]}
functionConfig:
  apiVersion: dev.kubectl-dev.io/v1alpha1
  kind: DevConfig
  metadata: {name: dev}
  workloads:
    deploy/web: {image: 'node:24'}
`;

function seeds(): string[] {
  const files = ['istio__bookinfo.yaml', 'kubernetes-website__cronjob-hello.yaml', 'kube-prometheus__node-exporter-daemonset.yaml', 'kubernetes-website__job-pi.yaml', 'kubernetes-website__web-statefulset.yaml'];
  const corpus = files.map((f) => readFileSync(join(CORPUS, f), 'utf8'));
  const shop = readFileSync(join(ROOT, 'fixtures', 'mixed-stream-with-hook', 'input.yaml'), 'utf8');
  return [SMALL_DEPLOYMENT, RESOURCE_LIST, shop, ...corpus, `${SMALL_DEPLOYMENT}---\n${shop}`];
}

export interface FuzzCase {
  name: string;
  /** A string, or raw bytes (invalid UTF-8) for the CLI. */
  input: string | Buffer;
  selects: string[];
  settings: { image?: string; workdir?: string; container?: string };
}

const SCALARS = ['42', '-1', 'true', 'null', '~', '0644', '1e400', '"\\u0000"', "'x'", '[]', '{}', '[1, [2, [3]]]', '!!binary aGVsbG8=', '&a x', '*a', '? complex', '|\n  block', '.nan', '0x1F', '2024-01-01'];
const JUNK = ['\u0000', '\u0007', '\t', '\r', '\r\n', '\uFEFF', '\uFFFD', '\u2028', '%YAML 1.2\n', '...\n', '--- |\n', '---\n', '\n- ', ': ', '{', '}', '[', ']', '"', "'", '&', '*', '!', '|', '>', '#', '@', '`', '\\', '\ud800'];

export function generateCases(count = 1000, seed = FUZZ_SEED): FuzzCase[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const base = seeds();
  const mutations: { name: string; apply: (text: string) => string | Buffer }[] = [
    { name: 'truncated', apply: (t) => t.slice(0, int(t.length)) },
    { name: 'junk inserted', apply: (t) => { let out = t; for (let i = 0, n = 1 + int(8); i < n; i++) { const at = int(out.length + 1); out = out.slice(0, at) + pick(JUNK) + out.slice(at); } return out; } },
    { name: 'value replaced', apply: (t) => t.replace(/: [^\n]+/g, (m) => (random() < 0.15 ? `: ${pick(SCALARS)}` : m)) },
    { name: 'lines dropped', apply: (t) => t.split('\n').filter(() => random() > 0.1).join('\n') },
    { name: 'lines shuffled', apply: (t) => { const lines = t.split('\n'); for (let i = 0; i < 5; i++) { const a = int(lines.length); const b = int(lines.length); [lines[a], lines[b]] = [lines[b] as string, lines[a] as string]; } return lines.join('\n'); } },
    { name: 'indentation broken', apply: (t) => t.split('\n').map((l) => (random() < 0.1 ? ' '.repeat(int(5)) + l.trimStart() : l)).join('\n') },
    { name: 'huge string', apply: (t) => t.replace(/image: [^\n]+/, `image: ${'x'.repeat(100_000 + int(400_000))}`) },
    { name: 'huge annotation', apply: (t) => t.replace('metadata:\n', `metadata:\n  annotations: {big: "${'a'.repeat(300_000)}"}\n`) },
    { name: 'deep flow nesting', apply: () => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: ${'['.repeat(500 + int(6_000))}${random() < 0.5 ? ']'.repeat(500) : ''}\n` },
    { name: 'deep block nesting', apply: () => { const n = 200 + int(1500); let out = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n'; for (let i = 1; i < n; i++) out += `${' '.repeat(i)}k:\n`; return out; } },
    { name: 'alias bomb', apply: () => { let out = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lol}\nx0: &a0 ["lol","lol"]\n'; for (let i = 1; i < 12; i++) out += `x${i}: &a${i} [*a${i - 1},*a${i - 1},*a${i - 1},*a${i - 1}]\n`; return out; } },
    { name: 'binary bytes', apply: (t) => { const bytes = Buffer.from(t, 'utf8'); for (let i = 0, n = 1 + int(20); i < n && bytes.length > 0; i++) bytes[int(bytes.length)] = int(256); return bytes; } },
    { name: 'random bytes', apply: () => Buffer.from(Array.from({ length: int(2000) }, () => int(256))) },
    { name: 'wrong types', apply: (t) => t.replace(/(containers|metadata|spec|template|annotations|labels|items):/, (m) => `${m} ${pick(['42', '"str"', '[1,2]', 'null', 'true'])}\n  _was:`) },
    { name: 'document markers', apply: (t) => t.split('\n').map((l) => (random() < 0.05 ? `---\n${l}` : l)).join('\n') },
    { name: 'duplicate keys', apply: (t) => t.replace(/\n(\s*)name: ([^\n]+)/, '\n$1name: $2\n$1name: $2') },
    { name: 'not objects', apply: () => pick(['42\n', '- a\n- b\n', '"just a string"\n', 'null\n', '---\n---\n', '', '\n\n#only a comment\n', '[]', '{}', 'apiVersion: v1\n', 'kind: X\n']) },
    { name: 'broken ResourceList', apply: () => pick([
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n',
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: 3\n',
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: [1, "a", null]\n',
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: 7\n',
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: {kind: DevConfig, workloads: {nope: {}}}\n',
      'apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nfunctionConfig: {kind: DevConfig, bogus: 1}\n',
      'apiVersion: v9\nkind: ResourceList\nitems: []\n',
      `${RESOURCE_LIST}---\n${SMALL_DEPLOYMENT}`,
      RESOURCE_LIST.replace('items:', 'items:\n- 17'),
      RESOURCE_LIST.replace("image: 'node:24'", 'workdir: relative'),
    ]) },
    { name: 'crlf', apply: (t) => t.replace(/\n/g, '\r\n') },
    { name: 'unicode', apply: (t) => t.replace(/name: ([a-z-]+)/, 'name: $1-🚀-ü-\u202e') },
  ];
  const cases: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    let input: string | Buffer = pick(base);
    const names: string[] = [];
    for (let n = 0, rounds = 1 + int(3); n < rounds && typeof input === 'string'; n++) {
      const mutation = pick(mutations);
      names.push(mutation.name);
      input = mutation.apply(input);
    }
    const selects = random() < 0.5 ? [] : [pick(['deploy/web', 'deployment/shop', 'deploy/reviews-v1', 'cj/hello', 'ds/node-exporter', 'job/pi', 'sts/web', 'job/shop-migrate', 'deploy/nope'])];
    const settings = random() < 0.7 ? {} : pick([{ image: 'node:24' }, { workdir: 'relative' }, { container: 'nope' }, { workdir: '/src' }]);
    cases.push({ name: `#${i} ${names.join(' + ')}`, input, selects, settings });
  }
  return cases;
}
