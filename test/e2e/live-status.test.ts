// `kubectl dev status` finds workloads in dev mode from their sync Secrets and dev pods, not by
// listing every workload: these are the cases that design must still get right, on the real
// control plane and its real node (the dev pods really run) — a workload the post-renderer put
// in dev mode (no Secret), a start interrupted after its Secret, a restart after that, and a
// user who may not read Secrets.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { SINCE_ANNOTATION } from '../../src/core/marks.ts';
import { INTERRUPTED_PHASE, type StatusRow } from '../../src/live/status.ts';
import { runCli } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath, waitFor } from '../support/cluster.ts';
import { STAND_IN_IMAGE, dev, kubectl, standInCommand } from './live-support.ts';

const kc = testKubeConfig();
const KILLED = -1;

const deployment = (name: string) => stringify({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, labels: { app: name } },
  spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: STAND_IN_IMAGE, command: standInCommand() }] } } },
});

function statusRows(args: string[], env: NodeJS.ProcessEnv = {}): StatusRow[] {
  const result = dev(['status', ...args, '-o', 'json'], env);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout).items;
}

const sinceOf = (ns: string, name: string) => JSON.parse(kubectl(['get', 'deployment', name, '-n', ns, '-o', 'json']).stdout).metadata.annotations?.[SINCE_ANNOTATION];

describe('kubectl dev status', () => {
  let ns: { name: string; remove: () => Promise<void> };
  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'status');
  });
  afterAll(async () => ns?.remove());

  it('lists a workload the post-renderer put in dev mode, which has no sync Secret', async () => {
    const rendered = runCli(['render', '--select=deployment/rendered', '--image', 'busybox:1.36'], { stdin: deployment('rendered') });
    expect(rendered.code, rendered.stderr).toBe(0);
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], rendered.stdout).code).toBe(0);
    expect(JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/workload', '-o', 'json']).stdout).items).toEqual([]);
    const row = await waitFor('the rendered dev pod ready', () => statusRows(['-n', ns.name]).find((r) => r.name === 'rendered' && r.phase === 'Ready'), 90_000, 500);
    expect(row).toMatchObject({ kind: 'Deployment', namespace: ns.name, container: 'app' });
    expect(row.devPod).toMatch(/^rendered-/);
    // All namespaces, and the one workload by name, say the same.
    expect(statusRows(['-A']).find((r) => r.namespace === ns.name && r.name === 'rendered')).toEqual(row);
    expect(statusRows(['deploy/rendered', '-n', ns.name])).toEqual([row]);
    expect(kubectl(['delete', 'deployment', 'rendered', '-n', ns.name]).code).toBe(0);
  });

  it('shows a start interrupted after its Secret, and the right time after a new start', async () => {
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('web')).code).toBe(0);
    const start = (env: NodeJS.ProcessEnv = {}) => dev(['start', 'deploy/web', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s', '--image', 'busybox:1.36'], env);
    // Step 1 creates the Secret; the process dies right before step 2, the patch of the workload.
    const crashed = start({ KUBECTL_DEV_CRASH_AT_STEP: '2', KUBECTL_DEV_TRACE_STEPS: '1' });
    expect(crashed.code).toBe(KILLED);
    expect(crashed.stderr).toContain('step 2: patch the workload');
    const interrupted = { kind: 'Deployment', name: 'web', namespace: ns.name, container: '-', devPod: '-', phase: INTERRUPTED_PHASE, since: '-' };
    expect(statusRows(['-n', ns.name])).toEqual([expect.objectContaining(interrupted)]);
    expect(statusRows(['deploy/web', '-n', ns.name])).toEqual([expect.objectContaining(interrupted)]);
    expect(dev(['status', '-n', ns.name]).stdout).toContain(INTERRUPTED_PHASE);

    // A new start keeps the Secret and takes its time: the Secret and the workload agree.
    expect(start().code).toBe(0);
    const since = sinceOf(ns.name, 'web');
    const secret = JSON.parse(kubectl(['get', 'secrets', '-n', ns.name, '-l', 'dev.kubectl-dev.io/workload=deployment.web', '-o', 'json']).stdout).items[0];
    expect(secret.metadata.annotations[SINCE_ANNOTATION]).toBe(since);
    const [row] = statusRows(['-n', ns.name]);
    expect(row).toMatchObject({ kind: 'Deployment', name: 'web', container: 'app', phase: 'Ready', since });

    expect(dev(['end', 'deploy/web', '-n', ns.name, '-q']).code).toBe(0);
    expect(statusRows(['-n', ns.name])).toEqual([]);
  });

  it('finds workloads whose names are too long for the workload label (hashed), with and without a Secret', async () => {
    const long = (prefix: string) => `${prefix}-${'x'.repeat(60 - prefix.length)}`;
    const [rendered, started] = [long('long-rendered'), long('long-started')];
    const renderedYaml = runCli(['render', `--select=deployment/${rendered}`], { stdin: deployment(rendered).replaceAll(`app: ${rendered}`, 'app: long-rendered') });
    expect(renderedYaml.code, renderedYaml.stderr).toBe(0);
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], renderedYaml.stdout).code).toBe(0);
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment(started).replaceAll(`app: ${started}`, 'app: long-started')).code).toBe(0);
    expect(dev(['start', `deploy/${started}`, '-n', ns.name, '--no-sync', '-q', '--timeout', '120s']).code).toBe(0);
    const rows = await waitFor('both long-named workloads ready', () => {
      const listed = statusRows(['-n', ns.name]);
      return listed.length === 2 && listed.every((r) => r.phase === 'Ready') && listed;
    }, 90_000, 500);
    expect(rows.map((r) => r.name).sort()).toEqual([rendered, started].sort());
    expect(rows.find((r) => r.name === started)!.since).toBe(sinceOf(ns.name, started));
    expect(statusRows([`deploy/${rendered}`, '-n', ns.name])).toEqual([rows.find((r) => r.name === rendered)]);
    expect(dev(['end', `deploy/${started}`, '-n', ns.name, '-q']).code).toBe(0);
    expect(kubectl(['delete', 'deployment', rendered, '-n', ns.name]).code).toBe(0);
  });

  it('works for a user who may read workloads and pods but not Secrets', async () => {
    expect(kubectl(['create', '-n', ns.name, '-f', '-'], deployment('viewed')).code).toBe(0);
    expect(dev(['start', 'deploy/viewed', '-n', ns.name, '--no-sync', '-q', '--timeout', '120s']).code).toBe(0);
    const viewer = 'status-viewer';
    kubectl(['create', 'serviceaccount', viewer, '-n', ns.name]);
    kubectl(['create', 'role', 'no-secrets', '-n', ns.name, '--verb=get,list,watch', '--resource=deployments,statefulsets,daemonsets,jobs,cronjobs,pods']);
    kubectl(['create', 'rolebinding', 'status-viewer', '-n', ns.name, '--role=no-secrets', `--serviceaccount=${ns.name}:${viewer}`]);
    const token = kubectl(['create', 'token', viewer, '-n', ns.name]).stdout.trim();
    const admin = parse(readFileSync(testKubeconfigPath(), 'utf8'));
    const file = join(mkdtempSync(join(tmpdir(), 'kubectl-dev-status-viewer-')), 'kubeconfig');
    writeFileSync(file, stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'viewer', clusters: admin.clusters,
      users: [{ name: viewer, user: { token } }],
      contexts: [{ name: 'viewer', context: { cluster: admin.clusters[0].name, user: viewer, namespace: ns.name } }],
    }));
    const asAdmin = statusRows(['-n', ns.name]);
    expect(asAdmin).toEqual([expect.objectContaining({ name: 'viewed', phase: 'Ready', since: sinceOf(ns.name, 'viewed') })]);
    expect(statusRows([], { KUBECONFIG: file })).toEqual(asAdmin);
    expect(statusRows(['deploy/viewed'], { KUBECONFIG: file })).toEqual(asAdmin);
    expect(dev(['end', 'deploy/viewed', '-n', ns.name, '-q']).code).toBe(0);
  });
});
