// Persistent dev volumes against the test cluster's REAL node and its default StorageClass
// (kube-controller-manager's host-path provisioner): the CLI as a user runs it (dist/, child
// processes), the dev pod's own containers read with kubectl exec, the claim with kubectl.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { duplicateName, persistentClaimName } from '../../src/core/names.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { execInAsync, sidecarGet } from '../support/pods.ts';
import { tempDir } from '../unit/sync/support.ts';
import { dev, devAsync, kubectl } from './live-support.ts';

const IMAGE = 'busybox:1.36';
const BLOCKING = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];
const claimOf = (name: string) => persistentClaimName('Deployment', name);

describe('persistent dev volumes (--persist) on the real node', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  let env: NodeJS.ProcessEnv;

  const createDeployment = (name: string) =>
    kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: IMAGE, command: BLOCKING }] } } } },
    });
  /** `start` as a user types it; resolves to the dev pod it names. */
  const start = (name: string, args: string[]) => {
    const r = dev(['start', `deploy/${name}`, '-n', ns, '--no-sync', '-q', '--timeout', '90s', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return /is in dev mode: pod (\S+),/.exec(r.stdout)![1]!;
  };
  const inApp = async (pod: string, script: string) => {
    const r = await execInAsync(ns, pod, 'app', ['sh', '-c', script]);
    if (r.code !== 0) throw new Error(`${script} in ${pod}: exit ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const claim = (name: string) => {
    const r = kubectl(['get', 'pvc', '-n', ns, claimOf(name), '-o', 'json', '--ignore-not-found']);
    return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
  };
  const untilGone = (name: string) => waitFor(`claim ${claimOf(name)} gone`, () => claim(name) === undefined, 60_000, 250);

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'persist'));
    root = tempDir('e2e-persist');
    env = { XDG_CONFIG_HOME: path.join(root, 'config') };
    await Promise.all(['cache', 'tree', 'nobind', 'shared'].map(createDeployment));
  });

  afterAll(async () => {
    for (const name of ['cache', 'tree', 'nobind']) dev(['end', `deploy/${name}`, '-n', ns, '-q', '--delete-volumes'], env);
    dev(['end', 'deploy/shared', '--duplicate', '-n', ns, '-q', '--delete-volumes'], env);
    await removeNs?.();
  });

  it('a file under a persisted cache path survives end and start; volumes ls shows the claim; end --delete-volumes removes it', async () => {
    const first = start('cache', ['--persist', '/root/.cache']);
    await inApp(first, 'mkdir -p /root/.cache/npm && echo "cached once" > /root/.cache/npm/index.json');
    expect(claim('cache')).toMatchObject({ metadata: { labels: { 'dev.kubectl-dev.io/workload': 'deployment.cache' } }, status: { phase: 'Bound' } });
    expect(claim('cache').metadata.ownerReferences).toBeUndefined();

    const ended = dev(['end', 'deploy/cache', '-n', ns, '-q'], env);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toContain(`kept PersistentVolumeClaim ${claimOf('cache')}`);
    expect(claim('cache')?.metadata.deletionTimestamp).toBeUndefined();

    const second = start('cache', ['--persist', '/root/.cache']);
    expect(second).not.toBe(first);
    expect(await inApp(second, 'cat /root/.cache/npm/index.json')).toBe('cached once\n');

    const listed = dev(['volumes', 'ls', '-n', ns], env);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^NAME\\s+WORKLOAD\\s+SIZE\\s+STATUS\\s+AGE\\n${claimOf('cache')}\\s+Deployment/cache\\s+5Gi\\s+Bound\\s+\\d+[sm]\\n`));
    const all = JSON.parse(dev(['volumes', '-A', '-o', 'json'], env).stdout).items;
    expect(all).toContainEqual(expect.objectContaining({ namespace: ns, name: claimOf('cache'), workload: 'Deployment/cache', status: 'Bound' }));

    // Not while its dev pod uses it.
    const refused = dev(['volumes', 'rm', 'deploy/cache', '-n', ns], env);
    expect(refused.code).toBe(EXIT.state);
    expect(refused.stderr).toContain('--delete-volumes');
    expect(claim('cache')?.metadata.deletionTimestamp).toBeUndefined();

    const deleted = dev(['end', 'deploy/cache', '-n', ns, '-q', '--delete-volumes'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`PersistentVolumeClaim/${claimOf('cache')}`);
    await untilGone('cache');
  });

  it('--duplicate --persist: the dev copy has a claim of its own, kept across end and start of the copy; the workload untouched; end --delete-volumes removes it', async () => {
    // The test cluster's admin certificate: the copy (and its claim) are named after the user the API server sees.
    const copy = duplicateName('shared', 'kubernetes-admin');
    const copyClaim = () => {
      const r = kubectl(['get', 'pvc', '-n', ns, claimOf(copy), '-o', 'json', '--ignore-not-found']);
      return r.stdout.trim() ? JSON.parse(r.stdout) : undefined;
    };
    const original = () => {
      const o = JSON.parse(kubectl(['get', 'deploy/shared', '-n', ns, '-o', 'json']).stdout);
      return { labels: o.metadata.labels, annotations: o.metadata.annotations, spec: o.spec, generation: o.metadata.generation };
    };
    const before = original();
    const first = start('shared', ['--duplicate', '--persist', '/root/.cache']);
    await inApp(first, 'echo "in the copy" > /root/.cache/note');
    expect(copyClaim()).toMatchObject({ metadata: { labels: { 'dev.kubectl-dev.io/workload': `deployment.${copy}` } }, status: { phase: 'Bound' } });
    expect(copyClaim().metadata.ownerReferences).toBeUndefined();
    expect(claim('shared')).toBeUndefined();
    expect(original()).toEqual(before);

    const ended = dev(['end', 'deploy/shared', '--duplicate', '-n', ns, '-q'], env);
    expect(ended.code, ended.stderr).toBe(0);
    expect(ended.stdout).toContain(`kept PersistentVolumeClaim ${claimOf(copy)}`);
    expect(kubectl(['get', 'deploy', copy, '-n', ns, '--ignore-not-found', '-o', 'name']).stdout.trim()).toBe('');

    const second = start('shared', ['--duplicate', '--persist', '/root/.cache']);
    expect(second).not.toBe(first);
    expect(await inApp(second, 'cat /root/.cache/note')).toBe('in the copy\n');
    const listed = JSON.parse(dev(['volumes', '-n', ns, '-o', 'json'], env).stdout).items;
    expect(listed).toContainEqual(expect.objectContaining({ name: claimOf(copy), workload: `Deployment/${copy}`, status: 'Bound' }));

    const deleted = dev(['end', 'deploy/shared', '--duplicate', '-n', ns, '-q', '--delete-volumes'], env);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`PersistentVolumeClaim/${claimOf(copy)}`);
    await waitFor(`claim ${claimOf(copy)} gone`, () => copyClaim() === undefined, 60_000, 250);
    expect(original()).toEqual(before);
  });

  it('with the work dir persisted, the second start skips the tar copy and syncthing sends only what changed', async () => {
    const localDir = path.join(root, 'tree');
    fs.mkdirSync(localDir);
    // 10 MiB that does not compress, and a small file that changes.
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(localDir, `blob-${i}.bin`), Buffer.from(Array.from({ length: 256 * 1024 }, () => Math.floor(Math.random() * 256))));
    fs.writeFileSync(path.join(localDir, 'app.txt'), 'version 1\n');
    const treeBytes = 40 * 256 * 1024 + 10;
    const syncOnce = async () => {
      const r = await devAsync(['sync', 'deploy/tree', '-n', ns, '--once', '--local-dir', localDir, '--timeout', '2m'], { ...env, KUBECTL_DEV_SYNC_DEBUG: '1' });
      expect(r.code, r.stderr).toBe(0);
      return r.stderr;
    };
    const received = async (pod: string) => (await sidecarGet<{ total: { inBytesTotal: number } }>(ns, pod, '/rest/system/connections')).total.inBytesTotal;

    const first = start('tree', ['--persist', '/workspace']);
    const firstLog = await syncOnce();
    expect(firstLog).toContain("the sidecar's folder is empty");
    expect(await inApp(first, 'cat /workspace/app.txt; ls /workspace | grep -c blob-')).toBe('version 1\n40\n');
    const firstBytes = await received(first);

    expect(dev(['end', 'deploy/tree', '-n', ns, '-q'], env).code).toBe(0);
    fs.writeFileSync(path.join(localDir, 'app.txt'), 'version 2\n');
    fs.writeFileSync(path.join(localDir, 'new.txt'), 'added while dev mode was off\n');

    const second = start('tree', ['--persist', '/workspace']);
    const secondLog = await syncOnce();
    expect(secondLog).toMatch(/initial copy skipped: the sidecar's folder is \w+, \d+ local/);
    expect(await inApp(second, 'cat /workspace/app.txt /workspace/new.txt; ls /workspace | grep -c "^blob-.*bin$"')).toBe('version 2\nadded while dev mode was off\n40\n');
    const secondBytes = await received(second);
    console.info(`persist e2e: tree ${treeBytes} bytes; syncthing received ${firstBytes} bytes at the first start (tar copy), ${secondBytes} at the second`);
    // Index exchange and the two small files: far below the tree.
    expect(secondBytes).toBeLessThan(treeBytes / 20);
  });

  it('--dry-run=server shows the claim start would create (validated by the API server) and creates nothing', () => {
    const r = dev(['start', 'deploy/nobind', '-n', ns, '--persist', '/data', '--persist-size', '1Gi', '--dry-run=server'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\d+\\. create PersistentVolumeClaim ${claimOf('nobind')}\\n`));
    expect(r.stdout).toContain('storage: 1Gi');
    expect(claim('nobind')).toBeUndefined();
  });

  it('a StorageClass that does not exist: start fails within its timeout, naming the claim and the reason', () => {
    const began = Date.now();
    const r = dev(['start', 'deploy/nobind', '-n', ns, '--no-sync', '-q', '--timeout', '60s', '--persist', '/data', '--persist-class', 'no-such-class'], env);
    expect(Date.now() - began).toBeLessThan(60_000);
    expect(r.code).toBe(EXIT.runtime);
    expect(r.stderr).toContain(`PersistentVolumeClaim ${claimOf('nobind')} cannot bind`);
    expect(r.stderr).toMatch(/ProvisioningFailed: storageclass.storage.k8s.io "no-such-class" not found/);
    expect(r.stderr).toContain('--persist-class');
    expect(claim('nobind').spec.storageClassName).toBe('no-such-class');
  });

  it('volumes rm deletes a kept claim once dev mode has ended, and says when there is none', async () => {
    expect(dev(['end', 'deploy/nobind', '-n', ns, '-q'], env).code).toBe(0);
    expect(claim('nobind')).toBeDefined();
    const removed = dev(['volumes', 'rm', 'deploy/nobind', '-n', ns], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toContain(`deleted PersistentVolumeClaim ${claimOf('nobind')}`);
    await untilGone('nobind');
    const again = dev(['volumes', 'rm', 'deploy/nobind', '-n', ns], env);
    expect(again.code).toBe(EXIT.input);
    expect(again.stderr).toContain('has no persistent volume');
  });
});
