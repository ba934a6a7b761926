// `kubectl dev doctor` on the test control plane: an admin passes; a view-only user (a
// ServiceAccount bound to a read-only Role, with a token kubeconfig) gets the missing
// verbs listed and exit code 4 (the cluster class); an unreachable API server is named with what to fix.
// Also completion of workload names from the cluster (one LIST).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath } from '../support/cluster.ts';
import { STAND_IN_IMAGE, standInCommand } from './live-support.ts';

describe('kubectl dev doctor', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let dir: string;
  let viewerKubeconfig: string;

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'doctor'));
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-doctor-'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'viewer' } } });
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: 'viewer' },
        rules: [
          { apiGroups: [''], resources: ['pods', 'configmaps'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['get', 'list', 'watch'] },
          { apiGroups: ['batch'], resources: ['jobs', 'cronjobs'], verbs: ['get', 'list', 'watch'] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: { metadata: { name: 'viewer' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'viewer' }, subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: ns }] },
    });
    const token = await core.createNamespacedServiceAccountToken({ name: 'viewer', namespace: ns, body: { spec: { expirationSeconds: 3600 } } });
    const cluster = kc.getCurrentCluster()!;
    const viewer = new k8s.KubeConfig();
    viewer.loadFromOptions({
      clusters: [{ name: 'test', server: cluster.server, caData: cluster.caData, skipTLSVerify: cluster.skipTLSVerify }],
      users: [{ name: 'viewer', token: token.status!.token }],
      contexts: [{ name: 'viewer', cluster: 'test', user: 'viewer', namespace: ns }],
      currentContext: 'viewer',
    });
    viewerKubeconfig = join(dir, 'viewer.kubeconfig');
    writeFileSync(viewerKubeconfig, viewer.exportConfig(), { mode: 0o600 });
  });

  afterAll(async () => {
    await removeNs?.();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exits 6 when only the local syncthing is missing', () => {
    const result = runCli(['doctor', '--kubeconfig', testKubeconfigPath(), '-n', ns, '--syncthing', join(dir, 'no-syncthing')]);
    expect(result.stdout).toMatch(/\[FAIL\] syncthing .*no-syncthing/);
    expect(result.stdout).toMatch(/fix: install syncthing/);
    expect(result.code).toBe(6);
  });

  it('passes for the admin', () => {
    const result = runCli(['doctor', '--kubeconfig', testKubeconfigPath(), '-n', ns]);
    expect(result.stdout).toMatch(/\[ok {2}\] kubeconfig/);
    expect(result.stdout).toMatch(/\[ok {2}\] API server .* Kubernetes v1\.\d+/);
    expect(result.stdout).toMatch(new RegExp(`\\[ok {2}\\] RBAC +all \\d+ permissions .* in namespace ${ns}`));
    expect(result.stdout).toMatch(/\[ok {2}\] syncthing +v1\./);
    expect(result.stdout).toContain('kubectl dev is ready to use.');
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });

  it('lists the missing verbs for a view-only user and exits 4', () => {
    const result = runCli(['doctor', '--kubeconfig', viewerKubeconfig]);
    expect(result.code, result.stdout + result.stderr).toBe(4);
    expect(result.stdout).toMatch(/\[ok {2}\] API server/);
    expect(result.stdout).toMatch(new RegExp(`\\[FAIL\\] RBAC +\\d+ of \\d+ permissions missing in namespace ${ns}`));
    for (const missing of ['patch deployments.apps', 'patch statefulsets.apps', 'create secrets', 'delete secrets', 'create pods/portforward', 'create pods/exec', 'create jobs.batch', 'patch horizontalpodautoscalers.autoscaling']) {
      expect(result.stdout).toContain(missing);
    }
    // Granted verbs are not listed.
    expect(result.stdout).not.toMatch(/\bget deployments\.apps|\blist pods\b/);
    expect(result.stdout).toContain('fix: ask a cluster admin');
    expect(result.stdout).toMatch(/block/);
  });

  it('answers in JSON for scripts', () => {
    const result = runCli(['doctor', '--kubeconfig', viewerKubeconfig, '-o', 'json']);
    expect(result.code).toBe(4);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; level: string }> };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === 'RBAC')?.level).toBe('fail');
  });

  it('names an unreachable API server and what to do', () => {
    const dead = new k8s.KubeConfig();
    dead.loadFromOptions({
      clusters: [{ name: 'dead', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u', token: 'x' }],
      contexts: [{ name: 'dead', cluster: 'dead', user: 'u' }],
      currentContext: 'dead',
    });
    const file = join(dir, 'dead.kubeconfig');
    writeFileSync(file, dead.exportConfig());
    const result = runCli(['doctor', '--kubeconfig', file]);
    expect(result.code).toBe(4);
    expect(result.stdout).toMatch(/\[FAIL\] API server +cannot reach https:\/\/127\.0\.0\.1:1/);
    expect(result.stdout).toContain('fix: check that the cluster is up');
    expect(result.stdout).toMatch(/\[FAIL\] RBAC +not checked/);
  });

  it('completes workload names and namespaces from the cluster', async () => {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    for (const name of ['web', 'api']) {
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand() }] } } } },
      });
    }
    const complete = (...words: string[]) => runCli(['__complete', '--', ...words], { env: { KUBECONFIG: testKubeconfigPath() } }).stdout;
    expect(complete('start', '-n', ns, 'deploy/')).toBe('deploy/api\ndeploy/web\n:4\n');
    expect(complete('start', `--namespace=${ns}`, 'deployment/w')).toBe('deployment/web\n:4\n');
    // end lists only workloads in dev mode: none here.
    expect(complete('end', '-n', ns, 'deploy/')).toBe(':4\n');
    expect(complete('start', '-n', '')).toContain(`${ns}\n`);
  });
});
