// Live dev mode on the real control plane, for all six kinds: start → dev pod ready with the
// dev container and the sidecar → status lists it → exec runs in the dev container → end →
// the object equals the original, and nothing dev mode added is left.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GENERATED_LABEL } from '../../src/core/marks.ts';
import { createTestNamespace, testKubeConfig, waitFor } from '../support/cluster.ts';
import { execLocally } from '../support/kwok.ts';
import { LIVE_CASES, applyManifests, dev, kubectl, read, restorable } from './live-support.ts';

const kc = testKubeConfig();

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
    if (testCase.kind === 'Pod') await waitFor('original pod running', async () => (await read(kc, 'v1', 'Pod', testCase.name, ns.name))?.status?.phase === 'Running');

    const start = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--timeout', '90s', '--image', 'busybox:1.37']);
    expect(start.stderr).not.toMatch(/^error/m);
    expect(start.code).toBe(0);
    expect(start.stdout).toContain('is in dev mode');

    // The dev pod: dev container running the blocking command, and the sync sidecar.
    const status = dev(['status', '-n', ns.name, '-o', 'json']);
    expect(status.code).toBe(0);
    const rows = JSON.parse(status.stdout).items as { kind: string; name: string; devPod: string; phase: string; container: string }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: testCase.kind, name: testCase.name, phase: 'Ready' });
    const pod = JSON.parse(kubectl(['get', 'pod', '-n', ns.name, rows[0]!.devPod, '-o', 'json']).stdout);
    const names = pod.spec.containers.map((c: { name: string }) => c.name);
    expect(names).toContain(rows[0]!.container);
    expect(names).toContain('kubectl-dev-sync');
    const devContainer = pod.spec.containers.find((c: { name: string }) => c.name === rows[0]!.container);
    expect(devContainer.image).toBe('busybox:1.37');
    expect(devContainer.command).toEqual(['/bin/sh', '-c', 'tail -f /dev/null']);
    expect(pod.status.containerStatuses.every((s: { ready: boolean }) => s.ready)).toBe(true);

    // The Secret the sidecar reads exists, and the table output lists the workload too.
    const secrets = JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;
    expect(secrets).toHaveLength(1);
    expect(Object.keys(secrets[0].data).sort()).toEqual(expect.arrayContaining(['cert.pem', 'config.xml', 'key.pem']));
    const table = dev(['status', '-n', ns.name]);
    expect(table.stdout).toMatch(new RegExp(`${testCase.kind}\\s+${testCase.name}\\s+${ns.name}`));

    // exec reaches the dev container (KWOK runs the command locally) and passes the exit code through.
    const unmap = await execLocally(kc, { namespace: ns.name, pod: rows[0]!.devPod, containers: [rows[0]!.container] });
    const exec = dev(['exec', testCase.target, '-n', ns.name, '--', 'sh', '-c', 'echo from-dev-container; exit 3']);
    await unmap();
    expect(exec.stdout).toContain('from-dev-container');
    expect(exec.code).toBe(3);

    // A second start with the same settings changes nothing.
    const again = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--timeout', '60s', '--image', 'busybox:1.37']);
    expect(again.code).toBe(0);
    const other = dev(['start', testCase.target, '-n', ns.name, '--no-sync', '--image', 'alpine:3']);
    expect(other.code).not.toBe(0);
    expect(other.stderr).toContain('already in dev mode with other settings');

    const end = dev(['end', testCase.target, '-n', ns.name]);
    expect(end.stderr).not.toMatch(/^error/m);
    expect(end.code).toBe(0);
    expect(end.stdout).toContain('restored');

    const after = await waitFor('the restored object', () => read(kc, testCase.apiVersion, testCase.kind, testCase.name, ns.name));
    expect(restorable(after)).toEqual(restorable(before));
    if (testCase.generated) expect(await read(kc, testCase.generated.apiVersion, testCase.generated.kind, testCase.generated.name, ns.name)).toBeUndefined();
    const left = JSON.parse(kubectl(['get', 'secrets,configmaps,deployments,jobs', '-n', ns.name, '-l', GENERATED_LABEL, '-o', 'json']).stdout).items;
    expect(left).toEqual([]);
    expect(JSON.parse(dev(['status', '-n', ns.name, '-o', 'json']).stdout).items).toEqual([]);

    // end again: not in dev mode is not an error.
    const twice = dev(['end', testCase.target, '-n', ns.name]);
    expect(twice.code).toBe(0);
    expect(twice.stdout).toContain('not in dev mode');
  });
});
