// Helpers for the render tests that run real tools: `kubectl-dev` on PATH (a wrapper
// around the built bin/kubectl-dev.cjs run by Node 24), Helm with isolated homes,
// the Helm 4 plugin installed into them, the test charts, and the real public charts
// (fixtures/CHARTS.md) with every workload of each selected by a dev config.

import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { podTemplateOf, workloadKindOf } from '../../src/core/kinds.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { fromJson } from '../../src/core/yaml/json.ts';
import { helmBinary } from '../support/binaries.ts';
import { goRead } from '../tools/goyaml.ts';
import { BIN, ROOT } from './run-cli.ts';

export { ROOT };
export const CHARTS = join(ROOT, 'test', 'unit', 'render', 'charts');
export const PLUGIN_DIR = join(ROOT, 'plugin');
export const CORPUS = join(ROOT, '..', 'shared', 'corpus');

/** Node 24: the project's pinned one when installed, else the one running the tests. */
export const NODE = existsSync(join(ROOT, 'node_modules', '.bin', 'node')) ? join(ROOT, 'node_modules', '.bin', 'node') : process.execPath;

let binDir: string | undefined;

/** A directory holding a `kubectl-dev` executable that runs the built CLI. */
export function kubectlDevBinDir(): string {
  if (binDir) return binDir;
  if (!existsSync(join(ROOT, 'dist', 'kubectl-dev.cjs'))) throw new Error('dist/kubectl-dev.cjs is missing: run `npm run build` first');
  const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-bin-'));
  const script = join(dir, 'kubectl-dev');
  writeFileSync(script, `#!/bin/sh\nexec "${NODE}" "${BIN}" "$@"\n`);
  chmodSync(script, 0o755);
  binDir = dir;
  return dir;
}

/** The environment with `kubectl-dev` first on PATH. */
export function envWithKubectlDev(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, NO_COLOR: '1', ...extra, PATH: [kubectlDevBinDir(), extra.PATH ?? process.env.PATH ?? ''].join(delimiter) };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer; timeout?: number } = {}): RunResult {
  const r = spawnSync(bin, args, {
    env: options.env ?? envWithKubectlDev(),
    cwd: options.cwd ?? ROOT,
    input: options.input ?? '',
    encoding: 'utf8',
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function mustRun(bin: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): string {
  const r = run(bin, args, options);
  if (r.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r.stdout;
}

export interface HelmSetup {
  bin: string;
  major: 3 | 4;
  env: NodeJS.ProcessEnv;
  /** `--post-renderer …` arguments that run `kubectl-dev render ARGS`. */
  postRenderer: (args: readonly string[]) => string[];
}

/**
 * Helm with its own data, config and cache homes (nothing of the user's). For Helm 4
 * the plugin in plugin/ is installed there (HELM_PLUGINS stays unset: Helm 4.1
 * installs into $HELM_DATA_HOME/plugins whatever HELM_PLUGINS says).
 */
export function helmSetup(major: 3 | 4, extraEnv: NodeJS.ProcessEnv = {}): HelmSetup {
  const home = mkdtempSync(join(tmpdir(), `helm${major}-home-`));
  for (const d of ['data', 'config', 'cache']) mkdirSync(join(home, d));
  const env = envWithKubectlDev({
    ...extraEnv,
    HELM_DATA_HOME: join(home, 'data'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_CACHE_HOME: join(home, 'cache'),
  });
  delete env.HELM_PLUGINS;
  const bin = helmBinary(major);
  if (major === 4) mustRun(bin, ['plugin', 'install', PLUGIN_DIR], { env });
  return {
    bin,
    major,
    env,
    postRenderer: (args) =>
      major === 3
        ? ['--post-renderer', 'kubectl-dev', '--post-renderer-args', 'render', ...args.flatMap((a) => ['--post-renderer-args', a])]
        : ['--post-renderer', 'kubectl-dev', ...args.flatMap((a) => ['--post-renderer-args', a])],
  };
}

/** Drops the `# Source:` comments and empty documents Helm adds, for comparing object streams. */
export function withoutHelmComments(text: string): string {
  return text.replace(/^# Source: .*\n/gm, '');
}

/** The real public charts (fixtures/CHARTS.md): module@version, the chart's path in it, what it is. */
export const PUBLIC_CHARTS: readonly { module: string; path: string; what: string }[] = [
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

/** The install stream used without Helm: Argo CD (GitOps). */
export const ARGO_CD = { module: 'github.com/argoproj/argo-cd/v2@v2.14.21', path: 'manifests/install.yaml' };

const moduleDirs = new Map<string, string | undefined>();

/** A module's directory, or undefined without Go or the module proxy (asked once per module). */
export function moduleDir(module: string): string | undefined {
  if (moduleDirs.has(module)) return moduleDirs.get(module);
  let dir: string | undefined;
  try {
    const out = execFileSync('go', ['mod', 'download', '-json', module], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 300_000, cwd: tmpdir() });
    dir = (JSON.parse(out) as { Dir?: string }).Dir;
    if (dir && !existsSync(dir)) dir = undefined;
  } catch {
    dir = undefined;
  }
  moduleDirs.set(module, dir);
  return dir;
}

/** A public chart's (or stream's) path, or undefined when its module is not downloadable. */
export function publicChartPath(c: { module: string; path: string }): string | undefined {
  const dir = moduleDir(c.module);
  return dir ? join(dir, c.path) : undefined;
}

/** Whether the public charts can be had (Go and the module proxy or cache); the tests skip otherwise. */
export const publicChartsAvailable = (): boolean => moduleDir(PUBLIC_CHARTS[0]!.module) !== undefined;

/** A short name for a test title: `ingress-nginx (ingress) from k8s.io/ingress-nginx@…`. */
export const publicChartTitle = (c: (typeof PUBLIC_CHARTS)[number]) => `${c.path.split('/').at(-1)} (${c.what}) from ${c.module}`;

export const objectId = (o: KubeObject) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;

/** What kubectl reads of a stream, by object. */
export function goObjects(text: string): Map<string, KubeObject> {
  const [result] = goRead([text]);
  const reading = fromJson(result!.raw) as { docs?: KubeObject[]; error?: string };
  if (reading.error !== undefined) throw new Error(`kubectl cannot read it: ${reading.error}`);
  return new Map((reading.docs ?? []).map((d) => [objectId(d), d]));
}

export interface ChosenWorkload {
  obj: KubeObject;
  container: string;
}

/** Every workload a user would put in dev mode (not Helm hooks, not owned objects), each with its first container. */
export function workloadsOf(objects: Iterable<KubeObject>): ChosenWorkload[] {
  return [...objects].flatMap((obj) => {
    const kind = workloadKindOf(obj);
    if (!kind || obj.metadata?.annotations?.['helm.sh/hook'] || obj.metadata?.ownerReferences) return [];
    const containers = podTemplateOf(structuredClone(obj), kind).spec.containers as { name: string }[] | undefined;
    return containers?.[0] ? [{ obj, container: containers[0].name }] : [];
  });
}

/** The dev config selecting these workloads, written to a fresh file; its path. */
export function writeDevConfig(workloads: readonly ChosenWorkload[]): string {
  const text = `workloads:\n${workloads.map(({ obj, container }) => `  ${String(obj.kind).toLowerCase()}/${obj.metadata?.name}:\n    container: ${container}\n${obj.metadata?.namespace ? `    namespace: ${obj.metadata.namespace}\n` : ''}`).join('')}`;
  const config = join(mkdtempSync(join(tmpdir(), 'charts-')), 'dev.yaml');
  writeFileSync(config, text);
  return config;
}

/** `helm template rel DIR -n NAMESPACE --include-crds EXTRA…`, its output. */
export function helmTemplate(helm: HelmSetup, dir: string, namespace: string, extra: readonly string[] = []): string {
  const r = run(helm.bin, ['template', 'rel', dir, '-n', namespace, '--include-crds', ...extra], { env: helm.env, timeout: 240_000 });
  if (r.code !== 0) throw new Error(`helm ${helm.major} template failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/**
 * A chart rendered as a user puts all of it in dev mode: plain first, then again with
 * kubectl-dev as the post-renderer, a dev config naming every workload and --force
 * (CNI and node-agent DaemonSets too). `renderWith(config)` renders with it.
 */
export function renderAllInDevMode(plain: string, renderWith: (config: string) => string): { workloads: ChosenWorkload[]; config: string; dev: string } {
  const workloads = workloadsOf(goObjects(plain).values());
  const config = writeDevConfig(workloads);
  return { workloads, config, dev: renderWith(config) };
}

/** A chart through Helm with every workload in dev mode (none selected: no post-renderer, as Helm would pass it through). */
export function helmAllInDevMode(helm: HelmSetup, dir: string, namespace: string): { plain: string; workloads: ChosenWorkload[]; config: string; dev: string } {
  const plain = helmTemplate(helm, dir, namespace);
  const hasWorkloads = workloadsOf(goObjects(plain).values()).length > 0;
  return { plain, ...renderAllInDevMode(plain, (config) => helmTemplate(helm, dir, namespace, hasWorkloads ? helm.postRenderer(['--config', config, '--force']) : [])) };
}

/** The CLI's render of a stream with a dev config and --force (no Helm). */
export function cliRenderForce(input: string, config: string): string {
  const r = run(NODE, [BIN, 'render', '--config', config, '--force'], { input });
  if (r.code !== 0) throw new Error(`render failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}
