// `--initial` against the real sidecar of a dev pod on the real node and the real local syncthing
// run by src/sync: the laptop and the container both have files before the first sync — one file
// newer on the laptop, one newer in the container (different contents, set modification times),
// one only on each side — and each strategy must leave both sides as it says (docs/sync.md), then
// the folders go back to send-only (laptop) and receive-only (container).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { enter } from '../../src/core/enter.ts';
import { workloadKindByName } from '../../src/core/kinds.ts';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import type { KubeObject } from '../../src/core/objects.ts';
import { FOLDER_ID } from '../../src/sync/config.ts';
import type { InitialStrategy } from '../../src/sync/initial.ts';
import { prepareSyncSecret, runSync, syncTargetOf, type SyncHandle } from '../../src/sync/index.ts';
import { statePaths } from '../../src/sync/state.ts';
import { createTestNamespace, testKubeConfig } from '../support/cluster.ts';
import { execInAsync, readyPod, sidecarGet, treeIn } from '../support/pods.ts';
import { tempDir, treeOf, until } from '../unit/sync/support.ts';

const META = ['.stfolder', '.stignore', '.stversions'];
const WORKDIR = '/workspace';
const DEV = 'app';
const debugging = !!process.env.SYNC_DEBUG;

function devDeployment(namespace: string, name: string): KubeObject {
  const deployment: KubeObject = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: DEV, image: 'registry.example/web:1' }] } } },
  };
  return enter([deployment], { targets: [{ kind: workloadKindByName('deployment')!, name }], settings: { image: 'busybox:1.36' } })[0]!;
}

// Each side's files: content and modification time (2021 is older than 2024).
const LAPTOP = {
  'laptop-newer.txt': ['the laptop, 2024', '2024-03-01T00:00:00Z'],
  'container-newer.txt': ['the laptop, 2021', '2021-03-01T00:00:00Z'],
  'laptop-only.txt': ['only on the laptop', '2023-01-01T00:00:00Z'],
} as const;
const CONTAINER = {
  'laptop-newer.txt': ['the container, 2021', '2021-06-01 00:00:00'],
  'container-newer.txt': ['the container, 2024', '2024-06-01 00:00:00'],
  'container-only.txt': ['only in the container', '2023-01-01 00:00:00'],
} as const;
const contentsOf = (files: Record<string, readonly [string, string]>) => Object.fromEntries(Object.entries(files).map(([name, [text]]) => [name, `${text}\n`]));
const conflictCopies = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([p]) => /\.sync-conflict-\d{8}-\d{6}-[A-Z0-9]{7}/.test(p)).map(([p, c]) => [p.replace(/\.sync-conflict-[^.]+/, '.sync-conflict'), c]));
const withoutConflicts = (tree: Record<string, string>) => Object.fromEntries(Object.entries(tree).filter(([p]) => !p.includes('.sync-conflict-')));

/** What each side holds once the first sync is over. */
const EXPECTED: Record<InitialStrategy, { laptop: Record<string, string>; container: Record<string, string>; conflicts: Record<string, string> }> = {
  // The laptop's versions win, nothing on the laptop changes; the container keeps what only it has.
  local: {
    laptop: contentsOf(LAPTOP),
    container: { ...contentsOf(LAPTOP), 'container-only.txt': 'only in the container\n' },
    conflicts: {},
  },
  // The laptop becomes the container's tree (what it replaced or deleted is in the versions dir).
  remote: { laptop: contentsOf(CONTAINER), container: contentsOf(CONTAINER), conflicts: {} },
  newest: {
    laptop: { 'laptop-newer.txt': 'the laptop, 2024\n', 'container-newer.txt': 'the container, 2024\n', 'laptop-only.txt': 'only on the laptop\n', 'container-only.txt': 'only in the container\n' },
    container: { 'laptop-newer.txt': 'the laptop, 2024\n', 'container-newer.txt': 'the container, 2024\n', 'laptop-only.txt': 'only on the laptop\n', 'container-only.txt': 'only in the container\n' },
    conflicts: {},
  },
  'keep-both': {
    laptop: { 'laptop-newer.txt': 'the laptop, 2024\n', 'container-newer.txt': 'the container, 2024\n', 'laptop-only.txt': 'only on the laptop\n', 'container-only.txt': 'only in the container\n' },
    container: { 'laptop-newer.txt': 'the laptop, 2024\n', 'container-newer.txt': 'the container, 2024\n', 'laptop-only.txt': 'only on the laptop\n', 'container-only.txt': 'only in the container\n' },
    conflicts: { 'laptop-newer.sync-conflict.txt': 'the container, 2021\n', 'container-newer.sync-conflict.txt': 'the laptop, 2021\n' },
  },
};

describe.each(['local', 'remote', 'newest', 'keep-both'] as const)('--initial %s, with files on both sides', (strategy) => {
  const kc = testKubeConfig();
  const name = `init-${strategy}`;
  let ns: { name: string; remove: () => Promise<void> };
  let root: string;
  let localDir: string;
  let env: NodeJS.ProcessEnv;
  let pod: string;
  let handle: SyncHandle | undefined;

  beforeAll(async () => {
    ns = await createTestNamespace(kc, 'sync-initial');
    root = tempDir(`e2e-${name}`);
    localDir = path.join(root, 'local');
    fs.mkdirSync(localDir);
    env = { ...process.env, XDG_CONFIG_HOME: path.join(root, 'config') };
    for (const [file, [text, at]] of Object.entries(LAPTOP)) {
      fs.writeFileSync(path.join(localDir, file), `${text}\n`);
      fs.utimesSync(path.join(localDir, file), new Date(at), new Date(at));
    }
    const dev = devDeployment(ns.name, name);
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({ namespace: ns.name, body: prepareSyncSecret({ workload: dev, kind: 'Deployment', namespace: ns.name }).secret as k8s.V1Secret });
    await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({ namespace: ns.name, body: dev as k8s.V1Deployment });
    pod = await readyPod(kc, ns.name, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', name)}`);
    // The container's files, written before any sync (a persisted work dir), with their times (busybox touch -d, UTC).
    const script = Object.entries(CONTAINER).map(([file, [text, at]]) => `echo '${text}' > ${WORKDIR}/${file} && TZ=UTC touch -d '${at}' ${WORKDIR}/${file}`).join(' && ');
    const made = await execInAsync(ns.name, pod, DEV, ['sh', '-c', script]);
    expect(made.code, made.stderr).toBe(0);
    // As with a persisted work dir, the sidecar has them in its index before the session starts.
    await until('the sidecar to index the container\'s files', async () => (await sidecarGet<{ localFiles: number; state: string }>(ns.name, pod, `/rest/db/status?folder=${FOLDER_ID}`).catch(() => undefined))?.localFiles === 3, 60_000, 500);
  }, 180_000);

  afterAll(async () => {
    await handle?.stop();
    await ns?.remove();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('leaves both sides as the strategy says, then syncs send-only again', async () => {
    const notes: string[] = [];
    const trace: string[] = [];
    onTestFailed(() => fs.writeFileSync(`/tmp/sync-initial-${strategy}.trace`, trace.join('\n')));
    handle = await runSync({ namespace: ns.name, kind: 'Deployment', name, localDir, initial: strategy }, {
      kc, env, onEvent: (e) => e.type === 'notice' && notes.push(e.message), debug: (m) => { trace.push(`${new Date().toISOString()} ${m}`); if (debugging) console.error(m); },
    });
    await handle.waitInSync(150_000);
    const expected = EXPECTED[strategy];
    const container = () => treeIn(ns.name, pod, DEV, WORKDIR, META);
    // The folders are back in the session's roles once waitInSync returns (it waits for the first sync to end).
    expect((await handle.local.getFolder(FOLDER_ID)).type).toBe('sendonly');
    expect((await sidecarGet<{ type: string; maxConflicts: number }>(ns.name, pod, `/rest/config/folders/${FOLDER_ID}`))).toMatchObject({ type: 'receiveonly', maxConflicts: 10 });
    await until('the container as expected', async () => JSON.stringify(sorted(withoutConflicts(await container()))) === JSON.stringify(sorted(expected.container)), 30_000, 500)
      .catch(async () => expect(withoutConflicts(await container())).toEqual(expected.container));
    expect(withoutConflicts(treeOf(localDir, META))).toEqual(expected.laptop);
    if (strategy === 'local') {
      expect(notes.join('\n')).not.toMatch(/both have files/);
    } else {
      expect(notes.join('\n')).toContain(`--initial ${strategy}`);
      expect(conflictCopies(treeOf(localDir, META))).toEqual(expected.conflicts);
      expect(conflictCopies(await container())).toEqual(expected.conflicts);
    }
    if (strategy === 'remote') {
      // What the container's state replaced or deleted on the laptop is kept outside the folder.
      const versions = path.join(statePaths(env, syncTargetOf(kc, ns.name, 'Deployment', name)).dir, 'versions');
      // (A file both changed whose container version was the global one already came in as a conflict: its laptop
      // version, a conflict copy, was reverted into the versions dir under that copy's name.)
      const kept = Object.entries(treeOf(versions)).map(([p, c]) => [p.replace(/~\d{8}-\d{6}/, '').replace(/\.sync-conflict-[^.]+/, ''), c]);
      expect(Object.fromEntries(kept)).toEqual({ 'laptop-newer.txt': 'the laptop, 2024\n', 'container-newer.txt': 'the laptop, 2021\n', 'laptop-only.txt': 'only on the laptop\n' });
    }
    // Send-only again: a change on the laptop goes in, the laptop is not changed by the container.
    fs.writeFileSync(path.join(localDir, 'after.txt'), 'after the first sync\n');
    await until('after.txt in the container', async () => (await container())['after.txt'] === 'after the first sync\n', 30_000, 500);
  }, 300_000);
});

function sorted(tree: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).sort(([a], [b]) => (a < b ? -1 : 1)));
}
