// The CLI as a user runs it, for e2e tests and benchmarks: bundled by esbuild into a temp
// file and run as a child process; and a plain HTTP GET for forwarded app ports.
import { sidecarSyncthingBinary } from '../tools/syncthing.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { build } from 'esbuild';
import { createTestNamespace, testKubeconfigPath } from '../support/cluster.ts';
import { tempDir } from '../unit/sync/support.ts';

export interface CliRun {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** stdout and stderr as they came, interleaved. */
  all: () => string;
  exited: Promise<number | null>;
}

/** Bundles src/bin.ts into `file` (the same bundle as npm run build, without the binary packaging). */
export async function bundleCli(file: string): Promise<string> {
  await build({ entryPoints: ['src/bin.ts'], outfile: file, bundle: true, platform: 'node', target: 'node24', format: 'cjs', logLevel: 'error', define: { KUBECTL_DEV_VERSION: '"0.0.0-test"' } });
  return file;
}

/** Where a suite runs the CLI as a user: its namespace, a temp dir with the bundle, a local tree, and the env. */
export interface CliWorkspace {
  ns: string;
  removeNs: () => Promise<void>;
  root: string;
  cli: string;
  /** root/local, with `files` in it. */
  localDir: string;
  /** The test cluster's kubeconfig, its own XDG_CONFIG_HOME (the sync state) under root, no colour. */
  env: NodeJS.ProcessEnv;
}

export async function cliWorkspace(kc: KubeConfig, name: string, files: Record<string, string>): Promise<CliWorkspace> {
  const { name: ns, remove: removeNs } = await createTestNamespace(kc, name);
  const root = tempDir(`e2e-${name}`);
  fs.chmodSync(root, 0o755);
  const cli = await bundleCli(path.join(root, 'kubectl-dev.cjs'));
  const localDir = path.join(root, 'local');
  fs.mkdirSync(localDir);
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(localDir, file), text);
  const env = { ...process.env, KUBECONFIG: testKubeconfigPath(), XDG_CONFIG_HOME: path.join(root, 'config'), NO_COLOR: '1' };
  return { ns, removeNs, root, cli, localDir, env };
}

export function spawnCli(cli: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): CliRun {
  // A bundle outside the package has no dist/syncthing beside it: give it the same pinned syncthing.
  const env = { KUBECTL_DEV_SYNCTHING: sidecarSyncthingBinary(), ...options.env };
  const child = spawn(process.execPath, [cli, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let all = '';
  child.stdout!.on('data', (d) => {
    out += d.toString();
    all += d.toString();
  });
  child.stderr!.on('data', (d) => {
    err += d.toString();
    all += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, all: () => all, exited };
}

/**
 * Ctrl-C: SIGINT, then the exit code, or a description when the process is still running
 * `withinMs` later or had to be ended by bin.ts's guard (with what it printed, so a hang fails
 * with its cause instead of a timeout).
 */
export async function interrupt(run: CliRun, withinMs = 30_000): Promise<number | null | string> {
  run.child.kill('SIGINT');
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`still running ${withinMs / 1000} s after SIGINT; its stderr:\n${run.err().slice(-3_000)}`), withinMs)));
  try {
    const code = await Promise.race([run.exited, hung]);
    // bin.ts ends a process that a leaked connection keeps alive, and says so: still a bug.
    return /stayed open; exiting anyway/.test(run.err()) ? `exited only because bin.ts forced it: ${run.err().slice(-1_000)}` : code;
  } finally {
    clearTimeout(timer);
  }
}

/** One GET on a new connection; undefined while nothing answers. */
export function httpGet(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d.toString()));
      res.on('end', () => resolve(body));
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
