// Live dev mode on the real control plane and its real node, for all six kinds: start → the dev
// pod runs (the dev container's PID 1 is the dev command, the sidecar runs syncthing with the
// sync Secret's key) → status lists it → exec runs in the dev container → end → the dev pod
// stops at once (not after its grace period), the object equals the original, and nothing
// dev mode added is left (no generated object, Secret or ConfigMap, and no pod with the
// workload label).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_LABEL, SIDECAR_CONTAINER, WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { sidecarScript } from '../../src/core/pod.ts';
import { DEFAULT_COMMAND, SYNCTHING_HOME } from '../../src/core/settings.ts';
import { deviceIdFromPem } from '../../src/sync/deviceid.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { execIn } from '../support/pods.ts';
import { LIVE_CASES, applyManifests, dev, devAsync, followUntilGone, kubectl, logsOf, read, restorable } from './live-support.ts';

const kc = testKubeConfig();
const DEV_IMAGE = 'busybox:1.36';
/** Far below the 30 s grace period: the dev command and syncthing end on SIGTERM. */
const PROMPT_STOP_MS = 10_000;

describe.each(LIVE_CASES)('$kind: kubectl dev start / status / exec / end', (testCase) => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(kc, `live-${testCase.kind.toLowerCase()}`);
    applyManifests(ns.name, testCase.manifests);
  });
  afterAll(async () => ns?.remove());

  it('round-trips through dev mode and leaves nothing behind', async () => {
    const before = await read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name);
    expect(before).toBeDefined();
    if (testCase.kind === 'Pod') await waitFor('original pod running', async () => (await read(kc, 'v1', 'Pod', testCase.name, ns.name))?.status?.phase === 'Running', 90_000);

    const start = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--timeout', '120s', '--image', DEV_IMAGE]);
    expect(start.stderr).not.toMatch(/^error/m);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('is in dev mode');

    // The dev pod: dev container running the blocking command, and the sync sidecar.
    const status = dev(['status', '-n', ns.name, '-o', 'json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).items as { kind: string; name: string; devPod: string; phase: string; container: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: testCase.kind, name: testCase.name, phase: 'Ready' });
    const devPod = rows[0]!.devPod;
    const devContainerName = rows[0]!.container;
    const pod = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, devPod, '-o', 'json']).stdout);
    const names = pod.spec.containers.map((c: { name: string }) => c.name);
    expect(names).toContain(devContainerName);
    expect(names).toContain(SIDECAR_CONTAINER);
    const devContainer = pod.spec.containers.find((c: { name: string }) => c.name === devContainerName);
    expect(devContainer.image).toBe(DEV_IMAGE);
    expect(devContainer.command).toEqual([...DEFAULT_COMMAND]);
    expect(pod.spec.containers.find((c: { name: string }) => c.name === SIDECAR_CONTAINER).command).toEqual(['/bin/sh', '-c', sidecarScript()]);
    // Really running on the real node, both containers started and ready.
    expect(pod.spec.nodeName).toBe('127.0.0.1');
    for (const name of [devContainerName, SIDECAR_CONTAINER]) {
      const cs = pod.status.containerStatuses.find((s: { name: string }) => s.name === name);
      expect(cs, name).toMatchObject({ ready: true, started: true, state: { running: expect.any(Object) } });
    }

    // The Secret the sidecar reads exists, and the table output lists the workload too.
    const secrets = JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;
    expect(secrets).toHaveLength(1);
    expect(Object.keys(secrets[0].data).sort()).toEqual(expect.arrayContaining(['cert.pem', 'config.xml', 'key.pem']));
    const table = dev(['status', '-n', ns.name]);
    expect(table.stdout).toMatch(new RegExp(`${testCase.kind}\\s+${testCase.name}\\s+${ns.name}`));

    // The sidecar read that Secret: its PID 1 is syncthing (the script exec'd it), under the
    // identity of the Secret's certificate. (The Secret exists before the pod, even with
    // --no-sync, so the sidecar never waits for it here; render-helm.test.ts shows the wait.)
    const sidecarPid1 = execIn(ns.name, devPod, SIDECAR_CONTAINER, ['cat', '/proc/1/cmdline']);
    expect(sidecarPid1.code, sidecarPid1.stderr).toBe(0);
    expect(sidecarPid1.stdout.split('\0')).toEqual(expect.arrayContaining(['/bin/syncthing', 'serve', `--home=${SYNCTHING_HOME}`]));
    const deviceId = deviceIdFromPem(Buffer.from(secrets[0].data['cert.pem'], 'base64').toString('utf8'));
    await waitFor('the sidecar syncthing to log its device ID', () => logsOf(ns.name, devPod, SIDECAR_CONTAINER).includes(`My ID: ${deviceId}`), 60_000, 500);

    // exec reaches the real dev container: PID 1 is the dev command, the host name is the pod's,
    // and the exit code comes through.
    const exec = dev(['exec', testCase.target, '-n', ns.name, '--', 'sh', '-c', 'cat /proc/1/cmdline; echo; hostname; exit 3']);
    expect(exec.stderr).toBe('');
    expect(exec.stdout).toBe(`${DEFAULT_COMMAND.join('\0')}\0\n${devPod}\n`);
    expect(exec.code).toBe(3);

    // A second start with the same settings changes nothing.
    const again = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--timeout', '120s', '--image', DEV_IMAGE]);
    expect(again.code, again.stderr).toBe(0);
    const other = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--image', 'node:24']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('already in dev mode with other settings');

    // end; meanwhile the dev pod is followed until it is gone.
    const stopped = followUntilGone(kc, ns.name, devPod);
    const end = await devAsync(['end', testCase.target, '-n', ns.name]);
    expect(end.stderr).not.toMatch(/^error/m);
    expect(end.code).toBe(0);
    expect(end.stdout).toContain('restored');
    const termination = await stopped;
    expect(termination.gracePeriodSeconds).toBe(30);
    expect(termination.terminatingMs, `the dev pod took ${termination.terminatingMs} ms to stop`).toBeLessThan(PROMPT_STOP_MS);

    const after = await waitFor('the restored object', () => read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name));
    expect(restorable(after)).toEqual(restorable(before));
    // The original runs again: a ready pod of it that is not a dev pod (a CronJob's next run is up to its schedule).
    if (testCase.kind !== 'CronJob') {
      const selector = testCase.kind === 'Pod' ? undefined : Object.entries(before.spec.selector.matchLabels).map(([k, v]) => `${k}=${v}`).join(',');
      await waitFor('the original running again', () => {
        const pods = JSON.parse(kubectl(['get', 'pods', '-n', ns.name, ...(selector ? ['-l', selector] : ['--field-selector', `metadata.name=${testCase.name}`]), '-o', 'json']).stdout).items;
        return pods.some((p: any) => !p.metadata.labels?.[WORKLOAD_LABEL] && !p.metadata.deletionTimestamp && p.status.phase === 'Running' && p.status.containerStatuses?.every((c: { ready: boolean }) => c.ready));
      }, 120_000, 500);
    }
    if (testCase.generated) expect(await read(kc, testCase.generated.apiVersion, testCase.generated.kind, testCase.generated.name, ns.name)).toBeUndefined();
    const left = JSON.parse(kubectl(['get', 'secrets,configmaps,deployments,jobs', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;
    expect(left).toEqual([]);
    // No pod of dev mode either: not the dev pod (followed above), nor any other with the workload label.
    const label = `${WORKLOAD_LABEL}=${workloadLabelValue(testCase.kind, testCase.name)}`;
    await waitFor('no pod of dev mode', () => JSON.parse(kubectl(['get', 'pods', '-n', ns.name, '-l', label, '-o', 'json']).stdout).items.length === 0, 60_000, 500);
    expect(JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items).toEqual([]);

    // end again: not in dev mode is not an error.
    const twice = dev(['end', testCase.target, '-n', ns.name]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('not in dev mode');
  });
});
