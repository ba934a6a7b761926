// The restore holes of issue 16, on the real control plane and its real node:
// - for every kind, a leftover dev pod (ready, with the workload label, no owner) is not
//   named as the dev pod by start nor reached by exec, and end leaves no pod of dev mode;
// - annotation edits in dev mode are drift (same --force rule as spec edits);
// - workloads that render put in dev mode get a spec drift check too (and a rendered Job can
//   leave dev mode at all);
// - a sync Secret left by an interrupted start for another work dir is replaced;
// - exec fails (never exit 0) when its connection ends before the command's exit status.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_LABEL, OPT_IN_ANNOTATION, SIDECAR_CONTAINER, SYNCTHING_HOME_VOLUME, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { SYNCTHING_HOME } from '../../src/core/settings.ts';
import { REAL_NODE_LABEL } from '../cluster/node.ts';
import { CHARTS, helmSetup, run as runHelm, type HelmSetup } from '../cli/render-support.ts';
import { runCli } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { execIn } from '../support/pods.ts';
import { LIVE_CASES, STAND_IN_IMAGE, applyManifests, dev, devAsync, kubectl, read, restorable, standInCommand } from './live-support.ts';

const kc = testKubeConfig();
const DEV_IMAGE = 'busybox:1.36';
const START = ['--no-sync', '--timeout', '120s', '--image', DEV_IMAGE, '-q'];

const podsWith = (namespace: string, selector: string): any[] => JSON.parse(kubectl(['get', 'pods', '-n', namespace, '-l', selector, '-o', 'json']).stdout).items;
const generatedLeft = (namespace: string): any[] => JSON.parse(kubectl(['get', 'secrets,configmaps,deployments,jobs', '-n', namespace, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;

/** Waits until no pod of the workload's dev mode is left (terminating ones included). */
async function noDevPodLeft(namespace: string, label: string): Promise<void> {
  await waitFor(`no pod with ${WORKLOAD_LABEL}=${label}`, () => podsWith(namespace, `${WORKLOAD_LABEL}=${label}`).length === 0, 60_000, 500);
}

/** A ready pod that looks like a dev pod to a label selector: the workload label, the dev container's name and the sidecar's, no owner. */
function leftoverDevPod(name: string, label: string, devContainer: string): string {
  return JSON.stringify({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, labels: { [WORKLOAD_LABEL]: label } },
    spec: {
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      containers: [devContainer, SIDECAR_CONTAINER].map((c) => ({ name: c, image: STAND_IN_IMAGE, command: standInCommand() })),
    },
  });
}

const podNamed = (stdout: string) => /is in dev mode: pod (\S+),/.exec(stdout)?.[1];

describe.each(LIVE_CASES)('$kind: a leftover dev pod', (testCase) => {
  let ns: { name: string; remove: () => Promise<void> };
  const label = workloadLabelValue(testCase.kind, testCase.name);
  beforeAll(async () => {
    ns = await createTestNamespace(kc, `restore-${testCase.kind.toLowerCase()}`);
    applyManifests(ns.name, testCase.manifests);
  });
  afterAll(async () => ns?.remove());

  it('is not the dev pod of a new start, and end leaves no pod of dev mode', async () => {
    if (testCase.kind === 'Pod') await waitFor('original pod running', async () => (await read(kc, 'v1', 'Pod', testCase.name, ns.name))?.status?.phase === 'Running', 90_000);
    const before = await read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name);

    // A first dev mode, ended: no pod of it stays (a Job's dev pod went with its Job).
    const first = dev(['start', testCase.target, '-n', ns.name, ...START]);
    expect(first.code, first.stderr).toBe(0);
    const devContainer = JSON.parse(dev(['status', testCase.target, '-n', ns.name, '-o', 'json']).stdout).items[0].container as string;
    const firstEnd = dev(['end', testCase.target, '-n', ns.name, '-q']);
    expect(firstEnd.code, firstEnd.stderr).toBe(0);
    await noDevPodLeft(ns.name, label);

    // A leftover: ready, with the label, nobody's.
    const stale = `stale-${testCase.kind.toLowerCase()}`;
    const created = kubectl(['create', '-n', ns.name, '-f', '-'], leftoverDevPod(stale, label, devContainer));
    expect(created.code, created.stderr).toBe(0);
    await waitFor('the leftover pod ready', () => kubectl(['wait', '-n', ns.name, `pod/${stale}`, '--for=condition=Ready', '--timeout=5s']).code === 0, 90_000, 500);

    const started = Date.now();
    const again = dev(['start', testCase.target, '-n', ns.name, ...START]);
    expect(again.code, again.stderr).toBe(0);
    const named = podNamed(again.stdout);
    expect(named, again.stdout).toBeDefined();
    expect(named, `start named the leftover pod after ${Date.now() - started} ms`).not.toBe(stale);
    const pod = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, named!, '-o', 'json']).stdout);
    expect(pod.metadata.labels[WORKLOAD_LABEL]).toBe(label);
    expect(pod.status.containerStatuses.every((c: { ready: boolean }) => c.ready)).toBe(true);
    // Made by this dev mode: the dev image, the sidecar with its syncthing home volume.
    expect(pod.spec.containers.find((c: { name: string }) => c.name === devContainer).image).toBe(DEV_IMAGE);
    expect(pod.spec.volumes.map((v: { name: string }) => v.name)).toContain(SYNCTHING_HOME_VOLUME);
    // exec reaches that pod, not the leftover.
    const exec = dev(['exec', testCase.target, '-n', ns.name, '--', 'hostname']);
    expect(exec.code, exec.stderr).toBe(0);
    expect(exec.stdout.trim()).toBe(named);

    // end removes the leftover too; no pod of dev mode and nothing generated remains.
    const end = dev(['end', testCase.target, '-n', ns.name]);
    expect(end.code, end.stderr).toBe(0);
    expect(end.stdout).toContain(`Pod/${stale}`);
    await noDevPodLeft(ns.name, label);
    expect(generatedLeft(ns.name)).toEqual([]);
    expect(restorable(await read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name))).toEqual(restorable(before));
  });
});

const simpleDeployment = (name: string) => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, labels: {app: ${name}}, annotations: {team: core}}
spec:
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: ${name}, image: ${STAND_IN_IMAGE}, command: ${JSON.stringify(standInCommand())}}
`;

const simplePod = (name: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: ${name}, image: ${STAND_IN_IMAGE}, command: ${JSON.stringify(standInCommand())}}
`;

const simpleJob = (name: string) => `
apiVersion: batch/v1
kind: Job
metadata: {name: ${name}}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: ${name}, image: ${STAND_IN_IMAGE}, command: ${JSON.stringify(standInCommand())}}
`;

describe('annotation edits in dev mode are drift', () => {
  let ns: { name: string; remove: () => Promise<void> };
  const sts = LIVE_CASES.find((c) => c.kind === 'StatefulSet')!;
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'restore-drift');
    applyManifests(ns.name, sts.manifests);
    applyManifests(ns.name, simpleDeployment('web'));
  });
  afterAll(async () => ns?.remove());

  it.each([
    ['a StatefulSet (its generation does not move)', sts.target, 'statefulset', sts.name],
    ['a Deployment (its generation moves too)', 'deploy/web', 'deployment', 'web'],
  ])('%s: end refuses, names the annotation, and --force restores', async (_, target, resource, name) => {
    const before = await read(kc, 'apps/v1', resource === 'statefulset' ? 'StatefulSet' : 'Deployment', name, ns.name);
    const start = dev(['start', target, '-n', ns.name, ...START]);
    expect(start.code, start.stderr).toBe(0);
    expect(kubectl(['annotate', '-n', ns.name, `${resource}/${name}`, 'owner=payments', 'team=edited', '--overwrite']).code).toBe(0);
    const refused = dev(['end', target, '-n', ns.name, '-q']);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('was changed while in dev mode: its annotations changed (owner, team)');
    expect(refused.stderr).not.toContain('spec changed');
    expect(refused.stderr).toContain('--force');
    const still = await read(kc, 'apps/v1', before.kind, name, ns.name);
    expect(still.metadata.labels['dev.kubectl-dev.io/dev-mode']).toBe('true');
    const forced = dev(['end', target, '-n', ns.name, '-q', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(restorable(await read(kc, 'apps/v1', before.kind, name, ns.name))).toEqual(restorable(before));
  });

  it('an edit undone before end is not drift', async () => {
    const start = dev(['start', 'deploy/web', '-n', ns.name, ...START]);
    expect(start.code, start.stderr).toBe(0);
    expect(kubectl(['annotate', '-n', ns.name, 'deployment/web', 'owner=payments']).code).toBe(0);
    expect(kubectl(['annotate', '-n', ns.name, 'deployment/web', 'owner-']).code).toBe(0);
    const end = dev(['end', 'deploy/web', '-n', ns.name, '-q']);
    expect(end.code, end.stderr).toBe(0);
    await noDevPodLeft(ns.name, workloadLabelValue('Deployment', 'web'));
  });
});

describe('workloads put in dev mode by render', () => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'restore-render');
    const rendered = runCli(['render', '--select', 'deploy/rweb', '--select', 'job/rjob', '--image', DEV_IMAGE], { stdin: simpleDeployment('rweb') + '---' + simpleJob('rjob') });
    expect(rendered.code, rendered.stderr).toBe(0);
    applyManifests(ns.name, rendered.stdout);
  });
  afterAll(async () => ns?.remove());

  it('a spec edit (an added env, which server defaults cannot be told from without the API server) is drift; undone, end restores', async () => {
    await waitFor('the rendered dev pod', () => podsWith(ns.name, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', 'rweb')}`).length > 0, 60_000, 500);
    expect(kubectl(['set', 'env', '-n', ns.name, 'deployment/rweb', '-c', 'rweb', 'EDITED=yes']).code).toBe(0);
    const refused = dev(['end', 'deploy/rweb', '-n', ns.name, '-q']);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('its spec is not what dev mode made of it (spec.template.spec.containers.0.env)');
    expect(kubectl(['set', 'env', '-n', ns.name, 'deployment/rweb', '-c', 'rweb', 'EDITED-']).code).toBe(0);
    const end = dev(['end', 'deploy/rweb', '-n', ns.name, '-q']);
    expect(end.code, end.stderr).toBe(0);
    const after = await read(kc, 'apps/v1', 'Deployment', 'rweb', ns.name);
    expect(after.metadata.labels).toEqual({ app: 'rweb' });
    expect(after.metadata.annotations).toMatchObject({ team: 'core' });
    expect(after.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['rweb']);
    await noDevPodLeft(ns.name, workloadLabelValue('Deployment', 'rweb'));
  });

  it('a rendered Job: an annotation edit is drift; undone, end restores it (keeping the selector the API server made)', async () => {
    expect(kubectl(['annotate', '-n', ns.name, 'job/rjob', 'owner=me']).code).toBe(0);
    const refused = dev(['end', 'job/rjob', '-n', ns.name, '-q']);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('its annotations changed (owner)');
    expect(kubectl(['annotate', '-n', ns.name, 'job/rjob', 'owner-']).code).toBe(0);
    const before = await read(kc, 'batch/v1', 'Job', 'rjob', ns.name);
    const end = dev(['end', 'job/rjob', '-n', ns.name, '-q']);
    expect(end.code, end.stderr).toBe(0);
    const after = await read(kc, 'batch/v1', 'Job', 'rjob', ns.name);
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.annotations ?? {}).toEqual({});
    expect(after.spec.selector).toEqual(before.spec.selector);
    expect(after.spec.template).toEqual(before.spec.template);
    await noDevPodLeft(ns.name, workloadLabelValue('Job', 'rjob'));
    expect(generatedLeft(ns.name)).toEqual([]);
  });
});

describe.each([3, 4] as const)('helm %i: workloads installed in dev mode by the post-renderer', (major) => {
  let ns: { name: string; remove: () => Promise<void> };
  let helm: HelmSetup;
  beforeAll(async () => {
    helm = helmSetup(major);
    ns = await createTestNamespace(kc, `restore-helm${major}`);
  });
  afterAll(async () => ns?.remove());

  it('round-trip through end (Helm\'s own labels and annotations are not drift); an edit is drift', async () => {
    // --no-hooks: the chart's hook runs the app image's `migrate`, which no image on the node has.
    const installed = runHelm(helm.bin, ['install', 'demo', join(CHARTS, 'shop'), '--set', 'dev=true', '--kubeconfig', testKubeconfigPath(), '-n', ns.name,
      ...helm.postRenderer(['--select=cj/demo-report', `--image=${DEV_IMAGE}`]), '--no-hooks'], { env: helm.env, timeout: 240_000 });
    expect(installed.code, installed.stderr).toBe(0);
    const deployment = await read(kc, 'apps/v1', 'Deployment', 'demo-shop', ns.name);
    expect(deployment.metadata.labels['dev.kubectl-dev.io/dev-mode']).toBe('true');
    expect(deployment.metadata.annotations['meta.helm.sh/release-name']).toBe('demo');

    expect(kubectl(['annotate', '-n', ns.name, 'cronjob/demo-report', 'owner=me']).code).toBe(0);
    const refused = dev(['end', 'cj/demo-report', '-n', ns.name, '-q']);
    expect(refused.code, refused.stderr).toBe(5);
    expect(refused.stderr).toContain('its annotations changed (owner)');
    expect(kubectl(['annotate', '-n', ns.name, 'cronjob/demo-report', 'owner-']).code).toBe(0);

    for (const [target, kind, name] of [['deploy/demo-shop', 'Deployment', 'demo-shop'], ['cj/demo-report', 'CronJob', 'demo-report']] as const) {
      const end = dev(['end', target, '-n', ns.name, '-q']);
      expect(end.code, `${target}: ${end.stderr}`).toBe(0);
      const after = await read(kc, kind === 'Deployment' ? 'apps/v1' : 'batch/v1', kind, name, ns.name);
      expect(after.metadata.labels['dev.kubectl-dev.io/dev-mode']).toBeUndefined();
      // No mark of dev mode left (the chart's own opt-in annotation stays: it is the chart's).
      expect(Object.keys(after.metadata.annotations ?? {}).filter((k) => k.startsWith('dev.kubectl-dev.io/') && k !== OPT_IN_ANNOTATION)).toEqual([]);
      // Helm's ownership stays, so that helm upgrade and uninstall still own the object.
      expect(after.metadata.annotations['meta.helm.sh/release-name']).toBe('demo');
      if (kind === 'CronJob') {
        await noDevPodLeft(ns.name, workloadLabelValue(kind, name));
      } else {
        // The chart's app cannot get ready here (its image is not on the node, its probe asks
        // /healthz): the restored Deployment's rollout keeps the dev pod until the app's pods are
        // ready, as any rollout keeps old pods. What is left is that: a pod of the Deployment's
        // older ReplicaSet, never an orphan.
        for (const pod of podsWith(ns.name, `${WORKLOAD_LABEL}=${workloadLabelValue(kind, name)}`)) {
          const owner = pod.metadata.ownerReferences?.find((o: { controller?: boolean }) => o.controller);
          expect(owner?.kind, pod.metadata.name).toBe('ReplicaSet');
          const rs = JSON.parse(kubectl(['get', 'rs', '-n', ns.name, owner.name, '-o', 'json']).stdout);
          expect(rs.metadata.ownerReferences[0]).toMatchObject({ kind: 'Deployment', name, uid: after.metadata.uid });
          expect(rs.spec.template.spec.containers.map((c: { name: string }) => c.name)).toContain(SIDECAR_CONTAINER);
          expect(after.spec.template.spec.containers.map((c: { name: string }) => c.name)).not.toContain(SIDECAR_CONTAINER);
        }
      }
    }
    expect(generatedLeft(ns.name)).toEqual([]);
  });
});

describe('end and start again at once', () => {
  let ns: { name: string; remove: () => Promise<void> };
  const apiKey = (xml: string) => /<apikey>([^<]*)<\/apikey>/.exec(xml)?.[1];
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'restore-again');
    applyManifests(ns.name, simpleDeployment('again'));
    applyManifests(ns.name, simplePod('lone'));
  });
  afterAll(async () => ns?.remove());

  it('each start has a new dev pod whose sidecar runs with the sync Secret that start made', async () => {
    // The controller could keep the last dev pod (same template), whose sidecar had copied the Secret end deleted.
    const pods: string[] = [];
    for (let round = 1; round <= 4; round++) {
      const started = dev(['start', 'deploy/again', '-n', ns.name, ...START]);
      expect(started.code, started.stderr).toBe(0);
      const pod = podNamed(started.stdout)!;
      expect(pods, `round ${round}`).not.toContain(pod);
      pods.push(pod);
      const secret = JSON.parse(kubectl(['get', 'secret', '-n', ns.name, 'again-deployment-dev-sync', '-o', 'json']).stdout);
      const running = await waitFor(`the config of ${pod}'s syncthing`, () => {
        const r = execIn(ns.name, pod, SIDECAR_CONTAINER, ['cat', `${SYNCTHING_HOME}/config.xml`]);
        return r.code === 0 && r.stdout.includes('<apikey>') ? r.stdout : undefined;
      }, 30_000, 250);
      expect(apiKey(running), `round ${round}`).toBe(apiKey(Buffer.from(secret.data['config.xml'], 'base64').toString()));
      const ended = dev(['end', 'deploy/again', '-n', ns.name, '-q']);
      expect(ended.code, ended.stderr).toBe(0);
    }
  });

  it.each([
    { target: 'deploy/again', secret: 'again-deployment-dev-sync', container: 'again' },
    { target: 'pod/lone', secret: 'lone-pod-dev-sync', container: 'lone' },
  ])('$target: a sync Secret made again while its dev pod runs: sync names the cause and the way out; start again replaces the dev pod', async ({ target, secret, container }) => {
    const started = dev(['start', target, '-n', ns.name, ...START]);
    expect(started.code, started.stderr).toBe(0);
    const pod = podNamed(started.stdout)!;
    const firstUid = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, pod, '-o', 'json']).stdout).metadata.uid;
    expect(kubectl(['delete', 'secret', '-n', ns.name, secret]).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-again-'));
    writeFileSync(join(dir, 'a.txt'), 'a\n');
    const syncOnce = () => devAsync(['sync', target, '-n', ns.name, '--once', '--local-dir', dir, '--timeout', '30s']);
    // sync makes the Secret again (new keys); the running sidecar has the old ones.
    const refused = await syncOnce();
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`the sync sidecar of dev pod ${pod} refused the sync Secret's API key (HTTP 403)`);
    expect(refused.stderr).toContain('run kubectl dev start again with the same settings');
    // start again (the same settings): the dev pod template (a Pod: the dev Pod, made again) takes the new Secret's mark, and a new dev pod has its keys.
    const again = dev(['start', target, '-n', ns.name, ...START]);
    expect(again.code, again.stderr).toBe(0);
    const newPod = podNamed(again.stdout)!;
    expect(JSON.parse(kubectl(['get', 'pod', '-n', ns.name, newPod, '-o', 'json']).stdout).metadata.uid).not.toBe(firstUid);
    const synced = await syncOnce();
    expect(synced.code, synced.stderr).toBe(0);
    expect(execIn(ns.name, newPod, container, ['cat', '/workspace/a.txt']).stdout).toBe('a\n');
    expect(dev(['end', target, '-n', ns.name, '-q']).code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('an interrupted start, then start with another work dir; exec without an exit status', () => {
  let ns: { name: string; remove: () => Promise<void> };
  let dir: string;
  const secretName = 'wd-deployment-dev-sync';
  const folderPath = () => /<folder [^>]*path="([^"]*)"/.exec(Buffer.from(JSON.parse(kubectl(['get', 'secret', '-n', ns.name, secretName, '-o', 'json']).stdout).data['config.xml'], 'base64').toString())?.[1];
  const cert = () => JSON.parse(kubectl(['get', 'secret', '-n', ns.name, secretName, '-o', 'json']).stdout).data['cert.pem'];
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'restore-workdir');
    applyManifests(ns.name, simpleDeployment('wd'));
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-restore-'));
  });
  afterAll(async () => {
    await ns?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the kept sync Secret is replaced when its folder path is not the new work dir (kept when it is)', async () => {
    // Killed right after the Secret (step 1), before the workload changed (step 2).
    const crashed = dev(['start', 'deploy/wd', '-n', ns.name, ...START], { KUBECTL_DEV_CRASH_AT_STEP: '2' });
    expect(crashed.code).toBe(-1);
    expect(folderPath()).toBe('/workspace');
    const kept = cert();
    // The same work dir again (crashed again): the Secret is kept, keys and all.
    expect(dev(['start', 'deploy/wd', '-n', ns.name, ...START], { KUBECTL_DEV_CRASH_AT_STEP: '2' }).code).toBe(-1);
    expect(cert()).toBe(kept);

    const start = dev(['start', 'deploy/wd', '-n', ns.name, ...START, '--workdir', '/src']);
    expect(start.code, start.stderr).toBe(0);
    expect(folderPath()).toBe('/src');
    expect(cert()).not.toBe(kept);
    // The sidecar started from it: its syncthing folder is the dev container's work dir.
    const pod = podNamed(start.stdout)!;
    const config = execIn(ns.name, pod, SIDECAR_CONTAINER, ['cat', `${SYNCTHING_HOME}/config.xml`]);
    expect(config.code, config.stderr).toBe(0);
    expect(config.stdout).toMatch(/<folder [^>]*path="\/src"/);
    const since = JSON.parse(kubectl(['get', 'secret', '-n', ns.name, secretName, '-o', 'json']).stdout).metadata.annotations['dev.kubectl-dev.io/since'];
    expect((await read(kc, 'apps/v1', 'Deployment', 'wd', ns.name)).metadata.annotations['dev.kubectl-dev.io/since']).toBe(since);
  });

  it('exec exits non-zero with a message when the connection drops before the exit status', async () => {
    const pod = JSON.parse(dev(['status', 'deploy/wd', '-n', ns.name, '-o', 'json']).stdout).items[0].devPod as string;
    // A TCP proxy to the API server that the test can cut, as a network, a proxy or a load balancer would.
    const target = new URL(kc.getCurrentCluster()!.server);
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, readFileSync(testKubeconfigPath(), 'utf8').replace(target.origin, `https://127.0.0.1:${(proxy.address() as net.AddressInfo).port}`));
    try {
      // The marker: the command's first line has come back through the client's open stream.
      let printed!: () => void;
      const started = new Promise<void>((resolve) => (printed = resolve));
      const running = devAsync(['exec', 'deploy/wd', '-n', ns.name, '--', 'sh', '-c', 'echo exec-started; exec sleep 30'], { KUBECONFIG: kubeconfig }, 60_000,
        (soFar) => soFar.includes('exec-started\n') && printed());
      const first = await Promise.race([started.then(() => undefined), running]);
      if (first !== undefined) throw new Error(`exec ended before it printed: ${first.code} ${first.stderr}`);
      const cut = Date.now();
      for (const s of sockets) s.destroy();
      const result = await running;
      expect(Date.now() - cut).toBeLessThan(10_000);
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toContain(`the connection to the command in ${pod}/wd ended before its exit status came`);
      expect(result.stderr).toContain(`the dev pod ${pod} still runs`);
    } finally {
      proxy.close();
      for (const s of sockets) s.destroy();
    }

    // The dev pod deleted under a running command: never exit 0 (the kubelet sends 137 here; without a status, exit 6).
    const running = devAsync(['exec', 'deploy/wd', '-n', ns.name, '--', 'sh', '-c', 'touch /tmp/exec-started-2; exec sleep 30'], {}, 60_000);
    await waitFor('the command running', () => execIn(ns.name, pod, 'wd', ['test', '-f', '/tmp/exec-started-2']).code === 0, 30_000, 200);
    expect(kubectl(['delete', 'pod', '-n', ns.name, pod, '--wait=false']).code).toBe(0);
    const result = await running;
    expect(result.code, result.stderr).not.toBe(0);
    expect([137, 6]).toContain(result.code);

    const end = dev(['end', 'deploy/wd', '-n', ns.name, '-q']);
    expect(end.code, end.stderr).toBe(0);
    await noDevPodLeft(ns.name, workloadLabelValue('Deployment', 'wd'));
    expect(generatedLeft(ns.name)).toEqual([]);
  });
});
