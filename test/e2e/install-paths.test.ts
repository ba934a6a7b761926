// Every way to install kubectl-dev, each on a PATH with no syncthing (only what that install put
// there, and Node 24 where the install runs on Node), against the test cluster's real node:
//
//   single binary   dist/kubectl-dev copied alone into an empty directory (no Node on PATH)
//   npm i -g        the tarball `npm pack` makes, installed into its own global prefix
//   npm link        this checkout linked into its own global prefix
//   npx             `npx --no-install kubectl-dev` inside this checkout
//
// For each: `start` enters dev mode and hands over to sync (in the same process) — a local file
// arrives in the dev container, Ctrl-C stops it; then `sync --wait` starts the background sync
// (the program starting itself again: the case that broke under npm link, npm i -g and npx) and
// returns once in sync, a later change still arrives, and `end` stops it. The syncthing used is
// the one kubectl-dev carries (the sidecar image's version), unpacked into that install's cache.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKLOAD_LABEL } from '../../src/core/marks.ts';
import { workloadLabelValue } from '../../src/core/names.ts';
import { whichSyncthing } from '../../src/sync/binary.ts';
import { readSyncState, syncTargetOf } from '../../src/sync/index.ts';
import { isAlive } from '../../src/sync/process.ts';
import { SYNCTHING_VERSION } from '../../scripts/syncthing.ts';
import { ensureBinary } from '../cli/binary-support.ts';
import { ROOT } from '../cli/run-cli.ts';
import { createTestNamespace, testKubeConfig, testKubeconfigPath } from '../support/cluster.ts';
import { arrivedInContainerAsync, readyPod } from '../support/pods.ts';
import { tempDir, until } from '../unit/sync/support.ts';
import type { CliRun } from './cli-process.ts';

const IMAGE = 'busybox:1.36';
const BLOCKING = ['/bin/sh', '-c', "trap 'exit 0' TERM; sleep 100000 & wait"];
/** npm's own CLI files (npm and npx are node scripts): run with the same Node 24 as the tests. */
const NPM_DIR = path.dirname(fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim()));
const NPM_CLI = path.join(NPM_DIR, 'npm-cli.js');
const NPX_CLI = path.join(NPM_DIR, 'npx-cli.js');

interface Install {
  name: string;
  /** The command that runs kubectl-dev (before its arguments). */
  command: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

const signalled = new WeakMap<object, NodeJS.Signals | null>();

function spawnRun(command: readonly string[], args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): CliRun {
  // Its own process group, as a terminal runs a command: Ctrl-C reaches npx and the kubectl-dev it runs.
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  let all = '';
  child.stdout!.on('data', (d) => { out += d; all += d; });
  child.stderr!.on('data', (d) => { err += d; all += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => {
    signalled.set(child, signal);
    resolve(code);
  }));
  return { child, out: () => out, err: () => err, all: () => all, exited };
}

describe('install paths: single binary, npm i -g, npm link, npx — start\'s hand-over and the background sync', () => {
  let kc: k8s.KubeConfig;
  let ns: string;
  let removeNs: () => Promise<void>;
  let root: string;
  const installs: Install[] = [];
  const runs: CliRun[] = [];

  /** A PATH with nothing but `dirs`: no syncthing, no kubectl-dev from elsewhere. */
  const envFor = (name: string, dirs: string[]): NodeJS.ProcessEnv => {
    const home = path.join(root, `home-${name}`);
    fs.mkdirSync(home, { recursive: true });
    return { PATH: dirs.join(path.delimiter), HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache'), KUBECONFIG: testKubeconfigPath(), NO_COLOR: '1' };
  };

  beforeAll(async () => {
    kc = testKubeConfig();
    ({ name: ns, remove: removeNs } = await createTestNamespace(kc, 'install'));
    root = tempDir('e2e-install-paths');
    const nodeDir = path.join(root, 'node-bin');
    fs.mkdirSync(nodeDir);
    fs.symlinkSync(process.execPath, path.join(nodeDir, 'node'));
    const npm = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      execFileSync(process.execPath, [NPM_CLI, ...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000 });

    // The single binary, alone.
    const binDir = path.join(root, 'binary');
    fs.mkdirSync(binDir);
    fs.copyFileSync(await ensureBinary(), path.join(binDir, 'kubectl-dev'));
    installs.push({ name: 'binary', command: [path.join(binDir, 'kubectl-dev')], cwd: root, env: envFor('binary', [binDir]) });

    // npm pack (prepack: the bundle and every platform's syncthing), then npm i -g of the tarball.
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', root])) as { filename: string; files: { path: string }[] }[];
    const tarball = path.join(root, packed[0]!.filename);
    expect(packed[0]!.files.map((f) => f.path)).toEqual(expect.arrayContaining(['bin/kubectl-dev.cjs', 'dist/kubectl-dev.cjs', 'dist/syncthing/manifest.json', `dist/syncthing/syncthing-${SYNCTHING_VERSION}-linux-x64.br`, `dist/syncthing/syncthing-${SYNCTHING_VERSION}-darwin-arm64.br`]));
    const globalPrefix = path.join(root, 'global');
    npm(['install', '-g', tarball], { npm_config_prefix: globalPrefix });
    installs.push({ name: 'npm-i-g', command: [path.join(globalPrefix, 'bin', 'kubectl-dev')], cwd: root, env: envFor('npm-i-g', [path.join(globalPrefix, 'bin'), nodeDir]) });

    // npm link: the checkout linked into another prefix.
    const linkPrefix = path.join(root, 'link');
    npm(['link'], { npm_config_prefix: linkPrefix });
    expect(fs.realpathSync(path.join(linkPrefix, 'lib', 'node_modules', 'kubectl-dev'))).toBe(fs.realpathSync(ROOT));
    installs.push({ name: 'npm-link', command: [path.join(linkPrefix, 'bin', 'kubectl-dev')], cwd: root, env: envFor('npm-link', [path.join(linkPrefix, 'bin'), nodeDir]) });

    // npx inside the checkout: the project's own bin. A user of npx has npm on PATH (npx links the
    // checkout into its cache and runs its prepare script, `npm run build …`, with sh).
    const npmDir = path.join(root, 'npm-bin');
    fs.mkdirSync(npmDir);
    fs.symlinkSync(process.execPath, path.join(npmDir, 'node'));
    fs.symlinkSync(NPM_CLI, path.join(npmDir, 'npm'));
    fs.symlinkSync(NPX_CLI, path.join(npmDir, 'npx'));
    fs.symlinkSync('/bin/sh', path.join(npmDir, 'sh'));
    installs.push({ name: 'npx', command: [process.execPath, NPX_CLI, '--no-install', 'kubectl-dev'], cwd: ROOT, env: envFor('npx', [npmDir]) });

    for (const install of installs) {
      expect(whichSyncthing(install.env), `no syncthing on ${install.name}'s PATH`).toBeUndefined();
      await kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
        namespace: ns,
        body: { metadata: { name: install.name }, spec: { selector: { matchLabels: { app: install.name } }, template: { metadata: { labels: { app: install.name } }, spec: { containers: [{ name: 'app', image: IMAGE, command: BLOCKING }] } } } },
      });
    }
  }, 900_000);

  afterAll(async () => {
    const kill = (pid: number) => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch { /* gone */ }
    };
    for (const r of runs) if (r.child.exitCode === null && r.child.pid) kill(r.child.pid);
    for (const install of installs) {
      const state = await readSyncState(syncTargetOf(kc, ns, 'Deployment', install.name), install.env).catch(() => undefined);
      if (state?.pid && isAlive(state.pid)) kill(state.pid);
    }
    await removeNs?.();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  for (const name of ['binary', 'npm-i-g', 'npm-link', 'npx']) {
    it(`${name}: start hands over to sync, sync --wait runs in the background, end stops it`, async () => {
      const install = installs.find((i) => i.name === name)!;
      const run = (args: string[]) => {
        const r = spawnRun(install.command, args, install);
        runs.push(r);
        return r;
      };
      const localDir = path.join(root, `src-${name}`);
      fs.mkdirSync(localDir);
      fs.writeFileSync(path.join(localDir, 'app.txt'), `${name} v1\n`);
      const workload = `deployment/${name}`;

      // start: dev mode, then sync in the foreground with the embedded syncthing.
      const start = run(['start', workload, '-n', ns, '--image', IMAGE, '--local-dir', localDir, '--timeout', '120s']);
      const pod = await readyPod(kc, ns, `${WORKLOAD_LABEL}=${workloadLabelValue('Deployment', name)}`);
      await arrivedInContainerAsync(ns, pod, 'app', '/workspace/app.txt', `${name} v1\n`, 120_000);
      await until('idle shown', () => /\bidle\b/.test(start.out()), 60_000);
      expect(start.out()).toMatch(new RegExp(`syncing .* → ${workload}:/workspace in namespace ${ns} \\(send-only; syncthing ${SYNCTHING_VERSION.replace(/\./g, '\\.')}\\)`));
      // Ctrl-C: SIGINT to the process group.
      process.kill(-start.child.pid!, 'SIGINT');
      const code = await Promise.race([start.exited, new Promise((r) => setTimeout(() => r(`still running 30 s after Ctrl-C: ${start.all()}`), 30_000))]);
      // kubectl-dev exits 0; npx itself then ends by the SIGINT it got, as npm does.
      if (name === 'npx') expect([code, signalled.get(start.child)]).toEqual([null, 'SIGINT']);
      else expect(code, start.all()).toBe(0);
      expect(start.all()).not.toMatch(/stayed open; exiting anyway|error:/);
      const target = syncTargetOf(kc, ns, 'Deployment', name);
      await until('the foreground sync stopped', async () => !(await readSyncState(target, install.env)).running, 15_000);

      // sync --wait: the background session is this same install started again.
      fs.writeFileSync(path.join(localDir, 'app.txt'), `${name} v2\n`);
      const wait = run(['sync', workload, '-n', ns, '--local-dir', localDir, '--wait', '--timeout', '120s']);
      expect(await wait.exited, wait.all()).toBe(0);
      expect(wait.out()).toMatch(/in sync \(idle\); the sync keeps running in the background \(pid \d+\)/);
      await arrivedInContainerAsync(ns, pod, 'app', '/workspace/app.txt', `${name} v2\n`, 60_000);
      const state = await readSyncState(target, install.env);
      expect(state.running).toBe(true);
      const background = state.pid!;
      fs.writeFileSync(path.join(localDir, 'later.txt'), 'after --wait\n');
      await arrivedInContainerAsync(ns, pod, 'app', '/workspace/later.txt', 'after --wait\n', 60_000);
      // The syncthing is the embedded one, unpacked into this install's cache.
      const cmdline = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0'); } catch { return []; } });
      const syncthing = cmdline.find((c) => c[0]?.startsWith(path.join(install.env.XDG_CACHE_HOME!, 'kubectl-dev', 'syncthing', `${SYNCTHING_VERSION}-`)));
      expect(syncthing, 'a syncthing from the install\'s cache runs').toBeDefined();

      const end = run(['end', workload, '-n', ns]);
      expect(await end.exited, end.all()).toBe(0);
      await until('background sync stopped', () => !isAlive(background), 15_000);
    }, 300_000);
  }
});
