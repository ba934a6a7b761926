// Shared by the live-mode e2e tests: the six kinds' workloads (from fixtures/ and the
// corpus), applying them with the real kubectl, and reading what `end` must restore.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { kubectlBinary } from '../support/binaries.ts';
import { testKubeconfigPath } from '../support/cluster.ts';
import { ROOT, runCli, type CliResult } from '../cli/run-cli.ts';

export interface LiveCase {
  /** KIND/NAME as typed on the command line. */
  target: string;
  apiVersion: string;
  kind: string;
  name: string;
  /** Manifests applied to the namespace first (namespace fields removed). */
  manifests: string;
  /** Name of the generated object that runs the dev pod, if any. */
  generated?: { apiVersion: string; kind: string; name: string };
}

const corpus = (file: string) => readFileSync(join(ROOT, '..', 'shared', 'corpus', file), 'utf8');
const fixture = (name: string) => readFileSync(join(ROOT, 'fixtures', name, 'input.yaml'), 'utf8');

/** Drops `metadata.namespace` (the test picks the namespace) and rewrites old API versions the server no longer serves. */
function portable(text: string, apiVersions: Record<string, string> = {}): string {
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((o) => o && typeof o === 'object')
    .map((o) => {
      if (o.metadata) delete o.metadata.namespace;
      if (apiVersions[o.apiVersion]) o.apiVersion = apiVersions[o.apiVersion];
      return stringify(o);
    })
    .join('---\n');
}

export const LIVE_CASES: LiveCase[] = [
  { target: 'deployment/reviews-v1', apiVersion: 'apps/v1', kind: 'Deployment', name: 'reviews-v1', manifests: portable(corpus('istio__bookinfo.yaml')) },
  { target: 'sts/cache', apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'cache', manifests: portable(fixture('statefulset-ondelete')) },
  { target: 'ds/log-agent', apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'log-agent', manifests: portable(fixture('daemonset-node-selector')), generated: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'log-agent-dev' } },
  { target: 'job/pi', apiVersion: 'batch/v1', kind: 'Job', name: 'pi', manifests: portable(corpus('kubernetes-website__job-pi.yaml')), generated: { apiVersion: 'batch/v1', kind: 'Job', name: 'pi-dev' } },
  { target: 'cj/hello', apiVersion: 'batch/v1', kind: 'CronJob', name: 'hello', manifests: portable(corpus('kubernetes-website__cronjob-hello.yaml'), { 'batch/v1beta1': 'batch/v1' }), generated: { apiVersion: 'batch/v1', kind: 'Job', name: 'hello-dev' } },
  { target: 'pod/init-demo', apiVersion: 'v1', kind: 'Pod', name: 'init-demo', manifests: portable(corpus('kubernetes-website__init-containers-pod.yaml')) },
];

export function kubectl(args: string[], input?: string): CliResult {
  const result = spawnSync(kubectlBinary(), ['--kubeconfig', testKubeconfigPath(), ...args], { input: input ?? '', encoding: 'utf8', timeout: 60_000 });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function applyManifests(namespace: string, manifests: string): void {
  const result = kubectl(['create', '-n', namespace, '-f', '-'], manifests);
  if (result.code !== 0) throw new Error(`kubectl create failed: ${result.stderr}`);
}

/** The CLI under test, against the test cluster. */
export function dev(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  return runCli(args, { env: { KUBECONFIG: testKubeconfigPath(), ...env }, timeoutMs: 120_000 });
}

export function objectApi(kc: k8s.KubeConfig): k8s.KubernetesObjectApi {
  return k8s.KubernetesObjectApi.makeApiClient(kc);
}

export async function read(kc: k8s.KubeConfig, apiVersion: string, kind: string, name: string, namespace: string): Promise<any | undefined> {
  try {
    // Plain JSON through kubectl keeps every field exactly as the server has it.
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const resource = group ? `${kind.toLowerCase()}.${version}.${group}` : kind.toLowerCase();
    const result = kubectl(['get', '-n', namespace, resource, name, '-o', 'json']);
    if (result.code !== 0) return undefined;
    return JSON.parse(result.stdout);
  } catch {
    return undefined;
  }
}

const CONTROLLER_ANNOTATIONS = ['deployment.kubernetes.io/revision', 'deprecated.daemonset.template.generation'];

/** What `end` must give back: labels, annotations (less those controllers keep up to date), spec and UID. */
export function restorable(obj: any): unknown {
  const annotations = { ...(obj.metadata.annotations ?? {}) };
  for (const key of CONTROLLER_ANNOTATIONS) delete annotations[key];
  const spec = structuredClone(obj.spec);
  if (obj.kind === 'Pod') {
    // Recreated pods get a new UID and node from the scheduler; the rest of the spec must match.
    delete spec.nodeName;
    return { labels: obj.metadata.labels, annotations, spec };
  }
  return { uid: obj.metadata.uid, labels: obj.metadata.labels, annotations, spec };
}
