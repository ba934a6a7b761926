// The input generator of the YAML differential test: manifest streams (a workload to
// select, another workload, a ConfigMap) whose values are tricky scalars — base-60,
// octal/hex/binary, big ints, floats, timestamps, y/on/no, empty, ~, multi-line
// strings, anchors and merge keys, tags, Helm 4's re-serialised quotes — in every
// position the rewrite touches (the dev container's args, command, env) and does not
// touch (other containers, labels, annotations, volumes, unknown spec fields, keys).
// Seeded: the same seed gives the same streams.

import { prng } from '../render/fuzz.ts';

export const DIFF_SEED = 0x79616d6c; // "yaml"

/** Plain or quoted scalars that fit on one line, in block context and (mostly) in flow context. */
const SCALARS = [
  // base 60 (YAML 1.1 numbers, strings to go-yaml)
  '10:30', '12:30', '1:2:3.5', '-1:30', '190:20:30', '1:60', '0:0',
  // octal, hex, binary
  '0644', '0o17', '0O17', '017', '08', '09.5', '-0o17', '+017', '00', '0o', '0x1F', '0X1f', '-0x1F', '0x_1F', '0x', '+0x10', '0b11', '0B11', '-0b11', '0b102', '0b',
  // integers at and beyond int64, uint64, float64's exact range
  '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809', '18446744073709551615', '18446744073709551616',
  '123456789012345678901234567890', '9007199254740993', '-9007199254740993', '1_000_000', '1__0', '_1', '1_', '+0', '-0', '0',
  // floats
  '1e400', '-1e400', '1e-400', '1.5', '.5', '-.5', '+.5', '5.', '1e3', '1E3', '1.0e+3', '1_000.5', '6.02e23', '0.1', '1e21', '1e-7', '.5e3', '0.0', '-0.0',
  '1.10', '3.14159265358979323846', '1.7976931348623157e308', '1.8e308', '4.9e-324', '.', '1.2.3', '1e', 'e3',
  // timestamps (strings in interface{})
  '2024-01-01', '2001-12-14t21:59:43.10-05:00', '2001-12-14 21:59:43.10', '2024-1-1', '2024-13-45', '2024-01-01T00:00:00Z',
  // booleans and nulls, YAML 1.1 and 1.2
  'y', 'Y', 'yes', 'Yes', 'YES', 'n', 'N', 'no', 'No', 'NO', 'on', 'On', 'ON', 'off', 'Off', 'OFF', 'true', 'True', 'TRUE', 'false', 'False', 'FALSE', 'TrUe', 'yEs',
  '~', 'null', 'Null', 'NULL', 'nULL',
  // quoted look-alikes: strings whatever they contain
  '"0o17"', "'0X1F'", '"0B11"', '"yes"', "'on'", '"~"', '"10:30"', '"1e400"', '"9223372036854775807"', '"null"', "''", '""', '"1_000"', "'0644'", '".inf"',
  "'it''s'", '"tab\\there"', '"uni\\u00e9"', '"\\x41"', '"quote \\" inside"', '"back\\\\slash"', "'#not a comment'", '" lead and trail "',
  // strings that stress the printer: escapes, line breaks, white space at the edges, indicators inside
  '"a\\tb"', '"x\\u2028y"', '"nel\\u0085"', '"c1\\u0090"', '"\\ufeffbom"', '" lead"', '"trail "', '"a\\r\\nb"', '"line1\\n  indented\\n"', '"\\n\\nstart"',
  '"---x"', '"...x"', '"end:"', '"a: b"', '"a #b"', '"\'both\\" quotes\'"', '"\\ttab start\\nx"', '"  \\nx"', '"x\\n  \\n"', '"two\\nlines"', '"keep\\n\\n\\n"',
  '"- item"', '"? q"', '": c"', '"@at"', '"`tick"', '"%pct"', '"{flow}"', '"[seq]"', '"*star"', '"&amp"', '"!bang"', '"|pipe"', '">gt"', '"#hash"', '"a,b"', '"\\\\"',
  // other strings
  'a:b', 'http://example.com:8080/x', '--at', '-dash', 'a b c', 'x#y', '=', '<<', 'emoji-🚀', 'ü', '.hidden', '+', 'true-ish', 'no-way', '0xZZ', '1-2', '1,2',
];

/** Non-JSON values: kubectl refuses the whole stream with them. */
const REFUSED = ['.inf', '-.Inf', '+.INF', '.NaN', '.nan'];

/** Scalars that fit a flow sequence too. */
const FLOW_UNSAFE = /[,[\]{}#]|^[-?:](?:[ ]|$)|^<<$|^=$/;

/** Values that are only valid in block context (multi-line); `indent` is the column of the key. */
function multiline(pick: <T>(list: readonly T[]) => T, indent: number): string {
  const pad = ' '.repeat(indent + 2);
  const lines = (n: number) => Array.from({ length: n }, () => pick(['alpha', '10:30', 'yes', '0o17', '  indented', '', '# not a comment', 'key: value', '- item', '"q"', 'trailing  ']));
  // (An indentation indicator under a `- name:` entry is left out: go-yaml refuses what the YAML spec allows there.)
  switch (pick(['literal', 'folded', 'keep', 'strip', 'plain', 'single', 'double', 'helm4'])) {
    case 'literal': return `|\n${lines(3).map((l) => `${pad}${l}`.trimEnd()).join('\n')}\n`;
    case 'folded': return `>\n${lines(3).map((l) => `${pad}${l}`.trimEnd()).join('\n')}\n`;
    case 'keep': return `|+\n${pad}kept\n\n`;
    case 'strip': return `|-\n${pad}stripped\n${pad}two\n`;
    case 'plain': return `first\n${pad}second 10:30\n${pad}third\n`;
    case 'single': return `'first\n${pad}second ''q''\n\n${pad}third'\n`;
    case 'double': return `"first\\\n${pad}  second \\t\n${pad}third"\n`;
    // Helm 4 re-serialises multi-line strings single-quoted, the closing quote at column 0.
    default: return `'first line\n\n${pad}second line\n\n'\n`;
  }
}

export interface DiffCase {
  name: string;
  text: string;
  /** KIND/NAME of the workload to select. */
  select: string;
  /** Whether the stream holds a value kubectl refuses (then only the refusal is compared). */
  refused: boolean;
}

const WORKLOADS = [
  { kind: 'Deployment', apiVersion: 'apps/v1', ref: 'deployment', prefix: 'spec:\n  replicas: REPLICAS\n  selector: {matchLabels: {app: APP}}\n  template:\n', podIndent: 4 },
  { kind: 'StatefulSet', apiVersion: 'apps/v1', ref: 'statefulset', prefix: 'spec:\n  serviceName: APP\n  replicas: REPLICAS\n  selector: {matchLabels: {app: APP}}\n  template:\n', podIndent: 4 },
  { kind: 'DaemonSet', apiVersion: 'apps/v1', ref: 'daemonset', prefix: 'spec:\n  selector: {matchLabels: {app: APP}}\n  template:\n', podIndent: 4 },
  { kind: 'Job', apiVersion: 'batch/v1', ref: 'job', prefix: 'spec:\n  backoffLimit: REPLICAS\n  template:\n', podIndent: 4 },
  { kind: 'CronJob', apiVersion: 'batch/v1', ref: 'cronjob', prefix: 'spec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec:\n      template:\n', podIndent: 8 },
  // A bare pod: its spec is at column 0, its containers at 2.
  { kind: 'Pod', apiVersion: 'v1', ref: 'pod', prefix: '', podIndent: -1 },
] as const;

export function generateDiffCases(count: number, seed = DIFF_SEED): DiffCase[] {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const chance = (p: number) => random() < p;
  let refused = false;
  const scalar = (flow = false): string => {
    if (chance(0.004)) {
      refused = true;
      return pick(REFUSED);
    }
    for (;;) {
      const s = pick(SCALARS);
      if (!flow || !FLOW_UNSAFE.test(s)) return s;
    }
  };
  /** A value in block context at a key of column `indent`. */
  const value = (indent: number): string => {
    const r = random();
    if (r < 0.12) return multiline(pick, indent).replace(/\n$/, '');
    if (r < 0.18) return pick(['!!str 123', '!!str yes', '!!int "12"', '!!float 1', '! 12', '!custom 0x10', '!!binary aGVsbG8=', '!!null ""', '!!bool "on"']);
    if (r < 0.22) return `[${Array.from({ length: 1 + int(3) }, () => scalar(true)).join(', ')}]`;
    return scalar();
  };
  /** A string annotation or label value: quoted unless its plain form is a string anyway. */
  const stringValue = (): string => pick(['"0o17"', "'0X1F'", '"10:30"', '"yes"', '"9223372036854775807"', "'1e400'", '"true"', '"~"', "''", 'plain', 'a:b', '"0644"', '"1_000"', "'.inf'", '2024-01-01', '"2024-01-01T00:00:00Z"']);
  // Keys as written, and the JSON key kubectl makes of each (yes and on are both "true").
  const KEYS: Record<string, string> = { plain: 'plain', yes: 'true', on: 'true', 1: '1', '0x10': '16', '017': '15', '1.5': '1.5', '1e3': '1000', '"quoted"': 'quoted', "'it''s'": "it's", true: 'true', 'a:b': 'a:b', '2024-01-01': '2024-01-01', '-1': '-1', '"1"': '1', '1.50': '1.5', '1e6': '1e+06', '0.1': '0.1' };
  const key = (): string => pick(Object.keys(KEYS));
  /** `n` keys that are distinct to kubectl (a selected workload must have no duplicate). */
  const keys = (n: number): string[] => {
    const out: string[] = [];
    while (out.length < n) {
      const k = key();
      if (!out.some((o) => KEYS[o] === KEYS[k])) out.push(k);
    }
    return out;
  };

  const cases: DiffCase[] = [];
  for (let i = 0; i < count; i++) {
    refused = false;
    const anchors = chance(0.15);
    const w = pick(WORKLOADS);
    const name = `web-${i}`;
    const p = ' '.repeat(w.podIndent < 0 ? 2 : w.podIndent + 2); // the pod spec's keys
    const helm4 = chance(0.3);
    const annotations = [
      ...(helm4 ? [`postrenderer.helm.sh/postrender-filename: app/templates/${name}.yaml`] : []),
      ...Array.from({ length: int(3) }, (_v, k) => `example.com/a${k}: ${stringValue()}`),
      ...(chance(0.1) ? [`example.com/multi: ${multiline(pick, 4).replace(/\n$/, '')}`] : []),
    ];
    const metadataExtra = chance(0.1) ? '  annotations:\n' : annotations.length > 0 ? `  annotations:\n${annotations.map((a) => `    ${a}`).join('\n')}\n` : '';
    const labels = chance(0.1) ? '  labels:\n' : `  labels:\n    app: ${name}\n    tier: ${stringValue()}\n`;
    const env = (indent: string) => Array.from({ length: int(4) }, (_v, k) => `${indent}- name: E${k}\n${indent}  value: ${value(indent.length + 2)}`).join('\n');
    const container = (cname: string) => [
      `${p}- name: ${cname}`,
      `${p}  image: example.com/${cname}:1`,
      ...(chance(0.6) ? [`${p}  args: [${Array.from({ length: 1 + int(3) }, () => scalar(true)).join(', ')}]`] : []),
      ...(chance(0.4) ? [`${p}  command:\n${Array.from({ length: 1 + int(2) }, () => `${p}  - ${value(p.length + 2)}`).join('\n')}`] : []),
      ...(chance(0.7) ? [`${p}  env:\n${env(`${p}  `)}`].filter((l) => !l.endsWith('env:\n')) : []),
      ...(chance(0.3) ? [`${p}  ports:\n${p}  - containerPort: ${pick(['8080', '0x1F90', '017', '1_0', '80'])}`] : []),
      ...(chance(0.3) ? [`${p}  resources:\n${p}    limits: {cpu: ${scalar(true)}, memory: ${scalar(true)}}`] : []),
      ...(chance(0.2) ? [`${p}  livenessProbe:\n${p}    httpGet: {path: /, port: ${pick(['8080', '0x1F90', 'http'])}}\n${p}    periodSeconds: ${scalar()}`] : []),
    ].join('\n');
    const pod = [
      ...(w.podIndent >= 0 ? [`${' '.repeat(w.podIndent)}metadata:`, `${' '.repeat(w.podIndent + 2)}labels: {app: ${name}}`, ...(chance(0.3) ? [`${' '.repeat(w.podIndent + 2)}annotations: {example.com/p: ${stringValue()}}`] : []), `${' '.repeat(w.podIndent)}spec:`] : ['spec:']),
      ...(w.kind === 'Job' || w.kind === 'CronJob' ? [`${p}restartPolicy: Never`] : []),
      `${p}containers:`,
      container('app'),
      ...(chance(0.5) ? [container('other')] : []),
      ...(chance(0.3) ? [`${p}initContainers:`, container('init')] : []),
      ...(chance(0.4) ? [`${p}nodeSelector:\n${p}  ${key()}: ${value(p.length + 2)}`] : []),
      ...(chance(0.3) ? [`${p}volumes:\n${p}- name: v\n${p}  configMap: {name: c, defaultMode: ${pick(['0644', '0o644', '420', '0x1A4'])}}`] : []),
      ...(chance(0.3) ? [`${p}terminationGracePeriodSeconds: ${scalar()}`] : []),
    ].join('\n');
    const [k1, k2] = keys(2);
    const extra = chance(0.5) ? `  x-extra:\n    ${k1}: ${value(4)}\n    ${k2}: ${value(4)}\n    nested: {${key()}: ${scalar(true)}}\n` : '';
    const anchorBlock = anchors ? '  x-defaults: &defaults\n    a: 1\n    b: yes\n  x-merged:\n    <<: *defaults\n    b: no\n' : '';
    const prefix = w.prefix.replaceAll('APP', name).replace('REPLICAS', pick(['1', '0x2', '017', '1_0', '3', '0']));
    // Unknown spec fields (x-extra, x-merged) are kept by kubectl's reading, and so in the saved original.
    const workload = `apiVersion: ${w.apiVersion}\nkind: ${w.kind}\nmetadata:\n  name: ${name}\n${labels}${metadataExtra}${prefix}${pod}\n${extra}${anchorBlock}`;
    // Keys that collide only as JSON keys (1 and "1") are left out: kubectl keeps one of them at random (a Go map).
    const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-${i}\ndata:\n${keys(1 + int(4)).map((k) => `  ${k}: ${value(2)}`).join('\n')}\n${chance(0.2) ? '  dup: first\n  dup: second\n' : ''}`;
    const other = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other-${i}\n  annotations:\n    example.com/x: ${stringValue()}\nspec:\n  replicas: ${scalar()}\n  template:\n    spec:\n      containers:\n      - name: o\n        image: o\n        args: [${scalar(true)}, ${scalar(true)}]\n`;
    const dupInSelected = chance(0.03);
    const selected = dupInSelected ? workload.replace(`  name: ${name}\n`, `  name: ${name}\n  name: ${name}\n`) : workload;
    const docs = [configMap, selected, other];
    const start = chance(0.5) ? '---\n' : '';
    cases.push({ name: `#${i} ${w.kind}${helm4 ? ' helm4' : ''}${anchors ? ' anchors' : ''}${dupInSelected ? ' duplicate' : ''}`, text: start + docs.join(chance(0.2) ? '---\n# Source: app/templates/x.yaml\n' : '---\n'), select: `${w.ref}/${name}`, refused });
  }
  return cases;
}
