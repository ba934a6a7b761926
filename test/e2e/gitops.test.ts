// GitOps awareness and who holds dev mode, on the real control plane and its real node (the dev
// pods really run). No Flux or Argo CD controller runs here: the Flux workloads carry the labels
// kustomize-controller and helm-controller put on what they apply, the Argo CD ones Argo CD's
// tracking annotation, and Applications are objects of a minimal Application CRD this test
// installs (argoproj.io/v1alpha1, schema left open), which nothing reconciles. What is tested is
// what kubectl-dev writes and restores; that the tools honour it is their documentation's word
// (docs/decisions.md, 2026-12-01).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { PAUSED_SYNC_ANNOTATION } from '../../src/core/marks.ts';
import type { StatusRow } from '../../src/live/status.ts';
import { pkiPaths, writeClientCert } from '../cluster/pki.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { STAND_IN_IMAGE, dev, kubectl, restorable, standInCommand } from './live-support.ts';

const kc = testKubeConfig();
const START = ['--no-sync', '--timeout', '150s', '--image', 'busybox:1.36'];
const suffix = randomBytes(3).toString('hex');

const APPLICATION_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'applications.argoproj.io' },
  spec: {
    group: 'argoproj.io', scope: 'Namespaced',
    names: { kind: 'Application', listKind: 'ApplicationList', plural: 'applications', singular: 'application', shortNames: ['app', 'apps'] },
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

function deployment(name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}): string {
  return stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name, ...labels }, annotations },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand() }] } } },
  });
}

const application = (name: string, namespace: string) => stringify({
  apiVersion: 'argoproj.io/v1alpha1', kind: 'Application', metadata: { name, annotations: { team: 'shop' } },
  spec: {
    project: 'default', source: { repoURL: 'https://git.example.com/shop.git', path: 'deploy', targetRevision: 'main' },
    destination: { server: 'https://kubernetes.default.svc', namespace },
    syncPolicy: { automated: { prune: true, selfHeal: true }, syncOptions: ['CreateNamespace=true'] },
  },
});

const get = (ns: string, resource: string, name: string) => {
  const result = kubectl(['get', resource, name, '-n', ns, '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};
const syncSecrets = (ns: string) => JSON.parse(kubectl(['get', 'secrets', '-n', ns, '-l', 'dev.kubectl-dev.io/workload', '-o', 'json']).stdout).items;
const metaAndSpec = (obj: any) => ({ labels: obj.metadata.labels, annotations: obj.metadata.annotations, spec: obj.spec });
/** The object apart from what its controller writes (status, and the resourceVersion that moves with it): what a refused start must leave alone. */
const apartFromStatus = (ns: string, resource: string, name: string) => {
  const o = JSON.parse(kubectl(['get', resource, name, '-n', ns, '-o', 'json', '--show-managed-fields']).stdout);
  return { ...metaAndSpec(o), generation: o.metadata.generation, writes: o.metadata.managedFields.filter((f: any) => f.subresource !== 'status') };
};

function statusRows(ns: string): StatusRow[] {
  const result = dev(['status', '-n', ns, '-o', 'json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout).items;
}

describe('GitOps awareness', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let createdCrd = false;
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'gitops');
    // Cluster-scoped: kept if it was there (another run's Applications), removed after if this run made it
    // (the Argo CD install stream of charts-server.test.ts creates it too).
    const created = kubectl(['create', '-f', '-'], stringify(APPLICATION_CRD));
    if (created.code !== 0) expect(created.stderr).toContain('AlreadyExists');
    createdCrd = created.code === 0;
    expect(kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/applications.argoproj.io']).code).toBe(0);
  });
  afterAll(async () => {
    await ns?.remove();
    if (createdCrd) expect(kubectl(['delete', 'crd', 'applications.argoproj.io', '--wait=true', '--timeout=60s']).code).toBe(0);
  });

  it('Flux: the reconcile and drift switches are set at start and end gives the exact previous values back', () => {
    const labels = {
      'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'flux-system',
    };
    // helm-controller's switch already has a value (as a chart may set it): it must come back as it was.
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('flux-web', labels, { 'helm.toolkit.fluxcd.io/driftDetection': 'enabled' })).code).toBe(0);
    const before = get(ns.name, 'deployment', 'flux-web');
    const started = dev(['start', 'deploy/flux-web', '-n', ns.name, ...START]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stderr).toContain('managed by Flux Kustomization flux-system/apps');
    expect(started.stderr).toContain('managed by Flux HelmRelease flux-system/web');
    const during = get(ns.name, 'deployment', 'flux-web').metadata.annotations;
    expect(during['kustomize.toolkit.fluxcd.io/reconcile']).toBe('disabled');
    expect(during['helm.toolkit.fluxcd.io/driftDetection']).toBe('disabled');

    const ended = dev(['end', 'deploy/flux-web', '-n', ns.name, '-q']);
    expect(ended.code, ended.stderr).toBe(0);
    const after = get(ns.name, 'deployment', 'flux-web');
    expect(restorable(after)).toEqual(restorable(before));
    expect(after.metadata.annotations['kustomize.toolkit.fluxcd.io/reconcile']).toBeUndefined();
    expect(after.metadata.annotations['helm.toolkit.fluxcd.io/driftDetection']).toBe('enabled');
  }, 240_000);

  describe('Argo CD', () => {
    const app = `shop-${suffix}`;
    const tracking = (name: string) => ({ 'argocd.argoproj.io/tracking-id': `${app}:apps/Deployment:${ns.name}/${name}` });
    let appBefore: any;
    beforeAll(() => {
      expect(kubectl(['create', '-n', ns.name, '-f', '-'], application(app, ns.name)).code).toBe(0);
      appBefore = get(ns.name, 'applications.argoproj.io', app);
      expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('argo-web', {}, tracking('argo-web'))).code).toBe(0);
    });

    it('a workload with its tracking id is refused with the three choices, and nothing changes', () => {
      // Rolled out first: the controller's revision annotation is written by then.
      expect(kubectl(['rollout', 'status', 'deployment/argo-web', '-n', ns.name, '--timeout=120s']).code).toBe(0);
      const before = apartFromStatus(ns.name, 'deployment', 'argo-web');
      const refused = dev(['start', 'deploy/argo-web', '-n', ns.name, ...START]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(`Argo CD Application ${ns.name}/${app}`);
      for (const choice of ['--duplicate', '--gitops=pause', '--gitops=ignore']) expect(refused.stderr).toContain(choice);
      expect(apartFromStatus(ns.name, 'deployment', 'argo-web')).toEqual(before);
      expect(get(ns.name, 'applications.argoproj.io', app).metadata.resourceVersion).toBe(appBefore.metadata.resourceVersion);
      expect(syncSecrets(ns.name)).toEqual([]);
    });

    it('the instance label alone: refused once its Application exists, not for a Helm chart\'s label', () => {
      expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('chart-web', { 'app.kubernetes.io/instance': `release-${suffix}`, 'app.kubernetes.io/managed-by': 'Helm' })).code).toBe(0);
      const helm = dev(['start', 'deploy/chart-web', '-n', ns.name, '--dry-run=client']);
      expect(helm.code, helm.stderr).toBe(0);
      expect(helm.stdout).not.toContain('Argo CD');
      expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('label-web', { 'app.kubernetes.io/instance': app })).code).toBe(0);
      const labelled = dev(['start', 'deploy/label-web', '-n', ns.name, '--dry-run=client']);
      expect(labelled.code).toBe(3);
      expect(labelled.stderr).toContain('app.kubernetes.io/instance label, and that Application exists');
    });

    it('--gitops=pause: --dry-run shows the Application step; start pauses it, end gives it back exactly', async () => {
      const dry = dev(['start', 'deploy/argo-web', '-n', ns.name, '--gitops=pause', '--dry-run=server', '--image', 'busybox:1.36']);
      expect(dry.code, dry.stderr).toBe(0);
      expect(dry.stdout).toContain(`pause the automated sync of Argo CD Application ${ns.name}/${app}`);
      expect(dry.stdout).toContain('remove /spec/syncPolicy/automated');
      expect(get(ns.name, 'applications.argoproj.io', app).metadata.resourceVersion).toBe(appBefore.metadata.resourceVersion);

      const before = get(ns.name, 'deployment', 'argo-web');
      const started = dev(['start', 'deploy/argo-web', '-n', ns.name, '--gitops=pause', ...START]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toContain('automated sync paused until kubectl dev end');
      const paused = get(ns.name, 'applications.argoproj.io', app);
      expect(paused.spec.syncPolicy).toEqual({ syncOptions: ['CreateNamespace=true'] });
      expect(JSON.parse(paused.metadata.annotations[PAUSED_SYNC_ANNOTATION])).toEqual({ automated: { prune: true, selfHeal: true }, for: [`${ns.name}/deployment.argo-web`] });

      const ended = dev(['end', 'deploy/argo-web', '-n', ns.name, '-q']);
      expect(ended.code, ended.stderr).toBe(0);
      expect(ended.stdout).toContain('resumed');
      expect(metaAndSpec(get(ns.name, 'applications.argoproj.io', app))).toEqual(metaAndSpec(appBefore));
      expect(restorable(get(ns.name, 'deployment', 'argo-web'))).toEqual(restorable(before));
    }, 240_000);

    it('--gitops=ignore goes ahead and leaves the Application alone', () => {
      const appNow = get(ns.name, 'applications.argoproj.io', app);
      const started = dev(['start', 'deploy/argo-web', '-n', ns.name, '--gitops=ignore', ...START]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toContain('--gitops=ignore');
      expect(get(ns.name, 'applications.argoproj.io', app).metadata.resourceVersion).toBe(appNow.metadata.resourceVersion);
      expect(dev(['end', 'deploy/argo-web', '-n', ns.name, '-q']).code).toBe(0);
    }, 240_000);

    it('gitops: ignore in the dev config does what the flag does', () => {
      const config = join(mkdtempSync(join(tmpdir(), 'kubectl-dev-gitops-')), 'dev.yaml');
      writeFileSync(config, `workloads:\n  deployment/argo-web: {namespace: ${ns.name}, gitops: ignore}\n`);
      const appNow = get(ns.name, 'applications.argoproj.io', app);
      const started = dev(['start', 'deploy/argo-web', '-n', ns.name, '--config', config, ...START]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stderr).toContain('--gitops=ignore');
      expect(get(ns.name, 'applications.argoproj.io', app).metadata.resourceVersion).toBe(appNow.metadata.resourceVersion);
      expect(dev(['end', 'deploy/argo-web', '-n', ns.name, '-q']).code).toBe(0);
    }, 240_000);
  });
});

describe('who holds dev mode', () => {
  let ns: { name: string; remove: () => Promise<void> };
  const alice = `e2e-alice-${suffix}`;
  const bob = `e2e-bob-${suffix}`;
  const kubeconfigs: Record<string, string> = {};
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'holder');
    // Two users with their own client certificates, each allowed what a namespace admin may do.
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-holder-'));
    const admin = parse(readFileSync(testKubeconfigPath(), 'utf8'));
    const pki = pkiPaths(join(dirname(testKubeconfigPath()), 'pki'));
    for (const user of [alice, bob]) {
      const cert = writeClientCert(pki, user, ['e2e-developers'], dir, user);
      kubeconfigs[user] = join(dir, `${user}.kubeconfig`);
      writeFileSync(kubeconfigs[user], stringify({
        apiVersion: 'v1', kind: 'Config', 'current-context': user, clusters: admin.clusters,
        users: [{ name: user, user: { 'client-certificate': cert.cert, 'client-key': cert.key } }],
        contexts: [{ name: user, context: { cluster: admin.clusters[0].name, user, namespace: ns.name } }],
      }), { mode: 0o600 });
      expect(kubectl(['create', 'rolebinding', user, '-n', ns.name, '--clusterrole=admin', `--user=${user}`]).code).toBe(0);
    }
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('shared')).code).toBe(0);
  });
  afterAll(async () => ns?.remove());
  const as = (user: string, args: string[]) => dev(args, { KUBECONFIG: kubeconfigs[user]! });

  it('records who started it, refuses a second user naming the first, and lets them end it saying whose it was', async () => {
    const started = as(alice, ['start', 'deploy/shared', ...START, '-q']);
    expect(started.code, started.stderr).toBe(0);
    const row = await waitFor('the dev pod ready', () => statusRows(ns.name).find((r) => r.name === 'shared' && r.phase === 'Ready'), 60_000, 500);
    expect(row.heldBy).toBe(`${alice} on ${hostname()}`);
    expect(dev(['status', '-n', ns.name]).stdout).toContain(`${alice} on ${hostname()}`);

    expect(kubectl(['rollout', 'status', 'deployment/shared', '-n', ns.name, '--timeout=120s']).code).toBe(0);
    const before = apartFromStatus(ns.name, 'deployment', 'shared');
    const second = as(bob, ['start', 'deploy/shared', ...START, '-q']);
    expect(second.code).toBe(5);
    expect(second.stderr).toContain(`in dev mode by ${alice} on ${hostname()}`);
    expect(second.stderr).toContain('--duplicate');
    // Nothing written but by the controller (its status updates move resourceVersion on their own).
    expect(apartFromStatus(ns.name, 'deployment', 'shared')).toEqual(before);
    // The same user again (another terminal): no refusal, nothing to do.
    expect(as(alice, ['start', 'deploy/shared', ...START, '-q']).code).toBe(0);

    const ended = as(bob, ['end', 'deploy/shared', '-q']);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stderr).toContain(`was in dev mode by ${alice} on ${hostname()}`);
    expect(ended.stderr).toContain('this ended their session');
    expect(ended.stdout).toContain('restored');
    expect(statusRows(ns.name)).toEqual([]);
  }, 240_000);
});
