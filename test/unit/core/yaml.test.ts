// The YAML rules of docs/yaml.md, one example each: reading as kubectl reads
// (go-yaml v2 under sigs.k8s.io/yaml), writing so that kubectl reads the same values
// back, the refusals, and the cases of issue 16. The differential test
// (yaml-differential.test.ts) checks the same rules against the real Go reader.

import { describe, expect, it } from 'vitest';
import { exit } from '../../../src/core/exit.ts';
import { parseWorkloadRef } from '../../../src/core/kinds.ts';
import { parseManifests } from '../../../src/core/manifests.ts';
import { ORIGINAL_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { formatFloat32G, plainIsNotString, resolveScalar } from '../../../src/core/yaml/go-scalars.ts';
import { fromJson, toJson } from '../../../src/core/yaml/json.ts';
import { decodeUtf8 } from '../../../src/core/yaml/utf8.ts';
import { printYaml } from '../../../src/core/yaml/write.ts';
import { render } from '../../../src/render/index.ts';

const value = (yaml: string): unknown => (parseManifests(`apiVersion: v1\nkind: X\nv: ${yaml}\n`, 's')[0]!.object as { v: unknown }).v;

const deployment = (extra = '', container = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
${extra}spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx
${container}`;

function rendered(text: string, select = 'deploy/web') {
  const outcome = render(text, { selects: [parseWorkloadRef(select)] });
  if (outcome.error) throw outcome.error;
  return outcome.stdout;
}

const objects = (text: string) => parseManifests(text, 'out').map((p) => p.object);
const containerOf = (obj: KubeObject, i = 0) => (obj.spec as { template: { spec: { containers: Record<string, unknown>[] } } }).template.spec.containers[i]!;

describe('reading: go-yaml v2 scalars', () => {
  it.each([
    ['10:30', '10:30'], ['1:2:3.5', '1:2:3.5'], // no base 60 (YAML 1.1 readers say 630)
    ['0644', 420], ['0o17', 15], ['0O17', 15], ['0x1F', 31], ['0X1f', 31], ['0b11', 3], ['0B11', 3], ['-0x1F', -31], ['08', 8], ['09.5', 9.5], ['0x_1F', 31], ['1_000', 1000],
    ['9223372036854775807', 9223372036854775807n], ['-9223372036854775808', -9223372036854775808n], ['18446744073709551615', 18446744073709551615n],
    ['18446744073709551616', 18446744073709551616], ['9007199254740993', 9007199254740993n],
    ['1e400', '1e400'], ['1e-400', 0], ['1.5', 1.5], ['.5', 0.5], ['5.', 5], ['1e3', 1000], ['.inf', Infinity], ['.', '.'], ['1e', '1e'],
    ['2024-01-01', '2024-01-01'], ['2001-12-14t21:59:43.10-05:00', '2001-12-14t21:59:43.10-05:00'],
    ['y', true], ['yes', true], ['on', true], ['ON', true], ['n', false], ['no', false], ['off', false], ['TrUe', 'TrUe'],
    ['~', null], ['null', null], ['', null], ['"0o17"', '0o17'], ["'0X1F'", '0X1F'], ['"yes"', 'yes'], ['<<', '<<'],
    ['!!str 123', '123'], ['!!int "12"', 12], ['!!float 1', 1], ['! 12', '12'], ['!custom 0x10', '0x10'], ['!!binary aGVsbG8=', 'hello'],
  ])('%s reads as %s', (yaml, want) => {
    const got = value(yaml);
    if (typeof want === 'number' && Number.isNaN(want)) expect(got).toBeNaN();
    else expect(got).toStrictEqual(want);
  });

  it('reads keys as sigs.k8s.io/yaml makes them JSON keys', () => {
    expect(value('{yes: a, 1: b, 0x10: c, 1.5: d, 1e6: e, 3.14159265358979: f, on: g}')).toEqual({ true: 'g', 1: 'b', 16: 'c', '1.5': 'd', '1e+06': 'e', '3.1415927': 'f' });
  });

  it('formats float keys as float32, as it does', () => {
    expect([1e6, 0.1, 123456, 1234567, 1e-5, 0.0001, 1e21, -2.5].map(formatFloat32G)).toEqual(['1e+06', '0.1', '123456', '1.234567e+06', '1e-05', '0.0001', '1e+21', '-2.5']);
  });

  it('applies merge keys where they stand, explicit keys after them winning, earlier list entries first', () => {
    const [doc] = parseManifests('apiVersion: v1\nkind: X\na: &a {p: 1, q: 1}\nb: &b {q: 2, r: 2}\nm1: {<<: *a, p: 9}\nm2: {p: 9, <<: *a}\nm3: {<<: [*a, *b]}\n', 's');
    expect(doc!.object).toMatchObject({ m1: { p: 9, q: 1 }, m2: { p: 1, q: 1 }, m3: { p: 1, q: 1, r: 2 } });
  });

  it('expands aliases as copies (a rewrite of one never changes the other)', () => {
    const [doc] = parseManifests('apiVersion: v1\nkind: X\na: &a {x: [1]}\nb: *a\n', 's');
    const obj = doc!.object as { a: { x: number[] }; b: { x: number[] } };
    expect(obj.b).toEqual(obj.a);
    expect(obj.b).not.toBe(obj.a);
  });

  it('reads the go-yaml error cases as problems, not as values', () => {
    const [doc] = parseManifests('apiVersion: v1\nkind: X\na: !!int abc\nb: .nan\nc: {~: 1}\nd: 1\nd: 2\n', 's');
    expect(doc!.problems.map((p) => `${p.line} ${p.path}: ${p.message}`)).toEqual([
      '3 a: cannot decode !!str `abc` as a !!int',
      '4 b: .nan is not a number JSON can hold (kubectl refuses it)',
      '5 c: the mapping key "~" is null; kubectl cannot convert it to JSON',
      '7 d: duplicate key "d" (kubectl and Helm keep the last one)',
    ]);
    expect(doc!.object.d).toBe(2);
  });

  it('bounds alias expansion as go-yaml does: a billion laughs is a located error, at once', () => {
    let bomb = 'apiVersion: v1\nkind: X\nx0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 10; i++) bomb += `x${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(', ')}]\n`;
    const started = performance.now();
    expect(() => parseManifests(bomb, 's')).toThrow(/excessive aliasing/);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('refuses invalid UTF-8 with its line and column', () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('a: 1\nb: "x'), 0xff, 0x22]);
    expect(() => decodeUtf8(bytes, 'f.yaml')).toThrow('the input is not valid UTF-8: byte 0xFF at line 2, column 6');
    expect(decodeUtf8(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), 'f')).toBe('\uFEFFa');
  });

  it('reads Helm 4\'s re-serialised quoted scalars (closing quote at column 0) as go-yaml does', () => {
    const helm4 = deployment("  annotations:\n    description: 'first line\n\n    second line\n\n'\n    other: \"a\n  b\n\"\n");
    const [doc] = parseManifests(helm4, 's');
    expect(doc!.object.metadata?.annotations).toEqual({ description: 'first line\nsecond line\n', other: 'a b ' });
  });
});

describe('writing: what kubectl reads back', () => {
  it('quotes every string that go-yaml (or a YAML 1.1 or 1.2 reader) would read as something else', () => {
    for (const s of ['10:30', '0o17', '0X1F', '0B11', '1e400', 'yes', 'on', 'y', '~', '', '1_000', '.inf', '2024-01-01', '0644', '9223372036854775807', 'null', '08']) {
      expect(plainIsNotString(s), s).toBe(true);
      expect(printYaml({ v: s }), s).toMatch(/^v: ["']/);
    }
    for (const s of ['nginx:1.27', 'a b', '--at', 'TrUe', 'http://x:80']) expect(printYaml({ v: s }), s).toBe(`v: ${s}\n`);
    expect(printYaml({ '<<': 'x', yes: 'y', 1: 'z' })).toBe('"1": z\n"<<": x\n"yes": "y"\n');
  });

  it('writes int64 exactly, and JSON with exact integers', () => {
    expect(printYaml({ v: 9223372036854775807n })).toBe('v: 9223372036854775807\n');
    expect(toJson({ v: 9223372036854775807n, w: 1.5 })).toBe('{"v":9223372036854775807,"w":1.5}');
    expect(fromJson('{"v":9223372036854775807,"w":9007199254740991}')).toEqual({ v: 9223372036854775807n, w: 9007199254740991 });
  });
});

describe('render: the cases of issue 16', () => {
  it('keeps base-60-looking args and env values strings, in the workload and in its saved original', () => {
    const text = deployment('', '        args: [--at, 10:30]\n        env:\n        - {name: AT, value: 12:30}\n      - name: other\n        image: busybox\n        args: [--at, 10:30]\n        env:\n        - {name: AT, value: 12:30}\n');
    const out = rendered(text.replace('  name: web\n', '  name: web\n  annotations: {kubectl.kubernetes.io/default-container: web}\n'));
    const [obj] = objects(out);
    expect(containerOf(obj!, 1)).toEqual({ name: 'other', image: 'busybox', args: ['--at', '10:30'], env: [{ name: 'AT', value: '12:30' }] });
    expect(out).toContain('- "10:30"');
    expect(out).toContain('value: "12:30"');
    const original = JSON.parse(obj!.metadata!.annotations![ORIGINAL_ANNOTATION]!);
    expect(original.spec.template.spec.containers[0].args).toEqual(['--at', '10:30']);
  });

  it('keeps quoted look-alikes quoted, int64 exact and 1e400 a string', () => {
    const text = deployment('', '        env:\n        - {name: A, value: "0o17"}\n        - {name: B, value: "0X1F"}\n        - {name: C, value: "0B11"}\n        - {name: D, value: "1e400"}\n      - name: other\n        image: busybox\n        args: ["0o17", 1e400]\n      terminationGracePeriodSeconds: 9223372036854775807\n');
    const outcome = render(text, { selects: [parseWorkloadRef('deploy/web')], settings: { container: 'web' } });
    const printed = outcome.stdout;
    expect(printed).toContain('value: "0o17"');
    expect(printed).toContain('value: "0X1F"');
    expect(printed).toContain('value: "0B11"');
    expect(printed).toContain('- "1e400"');
    expect(printed).toContain('terminationGracePeriodSeconds: 9223372036854775807\n');
    expect(printed).toContain('"terminationGracePeriodSeconds":9223372036854775807}');
    const [obj] = objects(printed);
    expect((obj!.spec as { template: { spec: Record<string, unknown> } }).template.spec.terminationGracePeriodSeconds).toBe(9223372036854775807n);
  });

  it('an empty annotations: (or labels:) enters and leaves dev mode, back to null as kubectl read it', () => {
    const text = deployment('  labels:\n  annotations:\n');
    const out = rendered(text);
    const [obj] = objects(out);
    expect(JSON.parse(obj!.metadata!.annotations![ORIGINAL_ANNOTATION]!)).toMatchObject({ labels: null, annotations: null });
    expect(exit(objects(out))).toEqual(objects(text));
  });

  it('reads Helm 4\'s quoted scalars in a selected workload, and passes them through elsewhere', () => {
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c.yaml\ndata:\n  description: 'first line\n\n    second line\n\n'\n";
    const web = deployment("  annotations:\n    description: 'first line\n\n    second line\n\n'\n");
    const out = rendered(`${cm}---\n${web}`);
    expect(out.startsWith(`${cm}---\n`)).toBe(true);
    expect(objects(out)[1]!.metadata!.annotations!.description).toBe('first line\nsecond line\n');
  });

  it('renders a stream whose unrelated ConfigMap has a duplicate key, untouched; refuses one in the selected workload, with its line', () => {
    const cm = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  a: "1"\n  a: "2"\n';
    expect(rendered(`${cm}---\n${deployment()}`).startsWith(`${cm}---\n`)).toBe(true);
    const outcome = render(`${cm}---\n${deployment('  labels: {a: b}\n  labels: {a: c}\n')}`, { selects: [parseWorkloadRef('deploy/web')] });
    expect(outcome.stdout).toBe('');
    expect(outcome.error?.message).toBe('invalid YAML in a document to rewrite: duplicate key "labels" (kubectl and Helm keep the last one)');
    expect(outcome.error?.where).toMatchObject({ document: 1, line: 13, path: 'metadata.labels', object: 'Deployment/web' });
  });

  it('KRM mode: items it does not select keep their exact text', () => {
    const topic = "- apiVersion: kafka.strimzi.io/v1beta2\n  kind: KafkaTopic\n  metadata:\n    name: t\n    annotations: {config.kubernetes.io/index: '0', internal.config.kubernetes.io/id: '1'}\n  spec:\n    config:\n      retention.bytes: 1073741824\n      retention.ms: 604800000\n";
    const cm = "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, annotations: {config.kubernetes.io/index: '1'}}\n  data: {a: 1:2:3.5, b: 0x1F}\n";
    const web = deployment().trimEnd().split('\n').map((l, i) => (i === 0 ? `- ${l}` : `  ${l}`)).join('\n');
    const text = `apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${topic}${cm}${web}\n`;
    const out = rendered(text);
    expect(out.startsWith(`apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n${topic}${cm}- apiVersion: apps/v1\n`)).toBe(true);
    expect(out).toContain('\nresults:\n- message: Deployment/web is in dev mode (container web)\n');
  });
});
