// Builds (or finds already built) the test control-plane binaries:
//   <cache>/bin/testcluster   etcd + kube-apiserver + kube-controller-manager + kube-scheduler (main.go)
//   <cache>/bin/kwok          sigs.k8s.io/kwok/cmd/kwok, built from the module source with two patches
//                             (exec exit codes, kwok_exitcode.go.txt; pod deletion by UID, kwok_poddelete.go.txt)
//   <cache>/kwok/             CRDs and default stages copied from the kwok module
// Rebuilt only when go.mod, go.sum, main.go, the kwok_*.go.txt patches or the pinned
// versions change (a hash stamp in <cache>/stamp). Go's own caches stay in their
// default places (GOCACHE, GOMODCACHE).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const KUBERNETES_VERSION = 'v1.36.3';
export const KWOK_VERSION = 'v0.8.0';

export const clusterSourceDir = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(clusterSourceDir, '../..');

/** Where built binaries live: $KUBECTL_DEV_TEST_CACHE, else $XDG_CACHE_HOME/kubectl-dev-test, else ~/.cache/kubectl-dev-test. */
export function cacheDir(): string {
  if (process.env.KUBECTL_DEV_TEST_CACHE) return path.resolve(process.env.KUBECTL_DEV_TEST_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kubectl-dev-test');
}

export interface Binaries {
  /** The one binary with the etcd / kube-* subcommands. */
  testcluster: string;
  kwok: string;
  /** Directory with kwok's CRD manifests (*.yaml). */
  kwokCrdDir: string;
  /** Directory with kwok's default node and pod stages (*.yaml). */
  kwokStageDir: string;
}

export interface BuildOptions {
  /** The go command; default `go` from PATH (or $GO). */
  go?: string;
  cache?: string;
  /** Print progress to this function; default: stderr. */
  log?: (line: string) => void;
  /** Rebuild even if the stamp matches. */
  force?: boolean;
}

export class BuildError extends Error {
  override name = 'BuildError';
}

export function binaryPaths(cache = cacheDir()): Binaries {
  return {
    testcluster: path.join(cache, 'bin', 'testcluster'),
    kwok: path.join(cache, 'bin', 'kwok'),
    kwokCrdDir: path.join(cache, 'kwok', 'crd'),
    kwokStageDir: path.join(cache, 'kwok', 'stages'),
  };
}

/** Files added to KWOK's source by patchKwok (part of the source hash). */
const KWOK_PATCH_FILES = ['kwok_exitcode.go.txt', 'kwok_poddelete.go.txt'];

/** Hash of everything that decides what the binaries are. */
export function sourceHash(): string {
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum', 'main.go', ...KWOK_PATCH_FILES]) {
    h.update(f + '\0');
    h.update(fs.readFileSync(path.join(clusterSourceDir, f)));
  }
  h.update(`${KUBERNETES_VERSION}\0${KWOK_VERSION}\0${process.platform}\0${process.arch}`);
  return h.digest('hex');
}

function stampPath(cache: string): string {
  return path.join(cache, 'stamp');
}

/** True when the binaries in the cache match the current sources. */
export function isBuilt(cache = cacheDir()): boolean {
  const b = binaryPaths(cache);
  try {
    return (
      fs.readFileSync(stampPath(cache), 'utf8').trim() === sourceHash() &&
      [b.testcluster, b.kwok].every((f) => fs.statSync(f).isFile()) &&
      fs.readdirSync(b.kwokCrdDir).length > 0 &&
      fs.readdirSync(b.kwokStageDir).length > 0
    );
  } catch {
    return false;
  }
}

function findGo(goOpt?: string): string {
  const go = goOpt ?? process.env.GO ?? 'go';
  const r = spawnSync(go, ['version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new BuildError(
      `Go toolchain not found (tried \`${go} version\`: ${r.error?.message ?? r.stderr.trim()}). ` +
        'Install Go >= 1.26 (https://go.dev/dl/) and put `go` on PATH, or set $GO.',
    );
  }
  return go;
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; log: (l: string) => void }): Promise<void> {
  return new Promise((resolve, reject) => {
    opts.log(`$ ${[cmd, ...args].join(' ')}`);
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (d: Buffer) => {
      const s = d.toString();
      tail = (tail + s).slice(-8000);
      for (const line of s.split('\n')) if (line.trim()) opts.log('  ' + line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (e) => reject(new BuildError(`${cmd} failed to start: ${e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new BuildError(`\`${cmd} ${args.join(' ')}\` failed (${signal ?? `exit ${code}`}):\n${tail}`));
    });
  });
}

/**
 * Makes sure the binaries exist and match the sources; builds them if not.
 * Safe to call from several processes: a lock directory serialises builds.
 */
export async function ensureBuilt(opts: BuildOptions = {}): Promise<Binaries> {
  const cache = opts.cache ?? cacheDir();
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const bins = binaryPaths(cache);
  if (!opts.force && isBuilt(cache)) return bins;

  const go = findGo(opts.go);
  fs.mkdirSync(cache, { recursive: true });
  const lock = path.join(cache, 'build.lock');
  await acquireLock(lock, log);
  try {
    if (!opts.force && isBuilt(cache)) return bins;
    const started = Date.now();
    const hash = sourceHash();
    fs.rmSync(stampPath(cache), { force: true });
    const binDir = path.join(cache, 'bin');
    fs.mkdirSync(binDir, { recursive: true });

    const [major, minor] = KUBERNETES_VERSION.replace(/^v/, '').split('.');
    const pkg = 'k8s.io/component-base/version';
    const ldflags = [
      '-s',
      '-w',
      `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
      `-X ${pkg}.gitMajor=${major}`,
      `-X ${pkg}.gitMinor=${minor}`,
      `-X ${pkg}.gitTreeState=clean`,
    ].join(' ');
    log(`building testcluster (k8s.io/kubernetes ${KUBERNETES_VERSION}); the first build takes about 6-10 min on 2 cores`);
    const tmpBin = path.join(binDir, `.testcluster.${process.pid}`);
    await run(go, ['build', '-mod=readonly', '-ldflags', ldflags, '-o', tmpBin, '.'], { cwd: clusterSourceDir, log });
    fs.renameSync(tmpBin, bins.testcluster);

    // KWOK from its module source (go mod download), with two small patches: exec
    // reports the command's exit code, and pods are deleted by UID (see patchKwok).
    log(`building kwok ${KWOK_VERSION}`);
    const modDir = JSON.parse(await capture(go, ['mod', 'download', '-json', `sigs.k8s.io/kwok@${KWOK_VERSION}`], { cwd: cache })).Dir as string;
    const srcDir = path.join(cache, 'src', `kwok@${KWOK_VERSION}`);
    fs.rmSync(srcDir, { recursive: true, force: true });
    fs.cpSync(modDir, srcDir, { recursive: true });
    makeWritable(srcDir);
    patchKwok(srcDir);
    const tmpKwok = path.join(binDir, `.kwok.${process.pid}`);
    await run(go, ['build', '-mod=readonly', '-ldflags=-s -w', '-o', tmpKwok, './cmd/kwok'], {
      cwd: srcDir,
      env: { ...process.env, GOWORK: 'off', GOFLAGS: '' },
      log,
    });
    fs.renameSync(tmpKwok, bins.kwok);

    // CRDs and default stages from the kwok module.
    copyYaml(path.join(modDir, 'kustomize', 'crd', 'bases'), bins.kwokCrdDir, () => true);
    fs.rmSync(bins.kwokStageDir, { recursive: true, force: true });
    fs.mkdirSync(bins.kwokStageDir, { recursive: true });
    // What kwokctl uses by default: node-initialize + heartbeat-with-lease, pod-ready/complete/delete.
    for (const [dir, file] of [
      ['node/fast', 'node-initialize.yaml'],
      ['node/heartbeat-with-lease', 'node-heartbeat-with-lease.yaml'],
      ['pod/fast', 'pod-ready.yaml'],
      ['pod/fast', 'pod-complete.yaml'],
      ['pod/fast', 'pod-delete.yaml'],
    ] as const) {
      fs.copyFileSync(path.join(modDir, 'kustomize', 'stage', dir, file), path.join(bins.kwokStageDir, file));
    }

    const version = spawnSync(bins.testcluster, ['version'], { encoding: 'utf8' }).stdout.trim();
    if (version !== KUBERNETES_VERSION) throw new BuildError(`testcluster reports version ${JSON.stringify(version)}, want ${KUBERNETES_VERSION}`);
    fs.writeFileSync(stampPath(cache), hash + '\n');
    log(`built in ${((Date.now() - started) / 1000).toFixed(1)} s into ${binDir}`);
    return bins;
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** The KWOK patch: route the server's local exec through execWithExitCode (kwok_exitcode.go.txt). */
/** Replaces the one occurrence of `anchor` in `file`, or fails the build loudly (e.g. after a KWOK upgrade). */
function replaceOnce(file: string, anchor: string, replacement: string): void {
  const text = fs.readFileSync(file, 'utf8');
  if (text.split(anchor).length !== 2) throw new BuildError(`patching kwok: ${path.basename(file)} no longer contains exactly one \`${anchor}\``);
  fs.writeFileSync(file, text.replace(anchor, replacement));
}

function patchKwok(srcDir: string): void {
  // exec reports the command's exit code (kwok_exitcode.go.txt).
  const serverDir = path.join(srcDir, 'pkg', 'kwok', 'server');
  for (const file of ['debugging_exec.go', 'debugging_exec_other.go']) {
    replaceOnce(path.join(serverDir, file), 'utilsexec.Exec(ctx, cmd[0], cmd[1:]...)', 'execWithExitCode(ctx, cmd[0], cmd[1:]...)');
  }
  fs.copyFileSync(path.join(clusterSourceDir, 'kwok_exitcode.go.txt'), path.join(serverDir, 'zz_kubectl_dev_exitcode.go'));
  // A pod is deleted only if it is still the one the deletion was planned for (kwok_poddelete.go.txt).
  const controllersDir = path.join(srcDir, 'pkg', 'kwok', 'controllers');
  replaceOnce(path.join(controllersDir, 'pod_controller.go'), 'Pods(pod.Namespace).Delete(ctx, pod.Name, deleteOpt)', 'Pods(pod.Namespace).Delete(ctx, pod.Name, podDeleteOptions(pod))');
  fs.copyFileSync(path.join(clusterSourceDir, 'kwok_poddelete.go.txt'), path.join(controllersDir, 'zz_kubectl_dev_poddelete.go'));
}

function makeWritable(dir: string): void {
  fs.chmodSync(dir, 0o755);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) makeWritable(p);
    else if (e.isFile()) fs.chmodSync(p, 0o644);
  }
}

function capture(cmd: string, args: string[], opts: { cwd: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new BuildError(`${cmd} failed to start: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new BuildError(`\`${cmd} ${args.join(' ')}\` failed (exit ${code}):\n${err.slice(-4000)}`))));
  });
}

function copyYaml(from: string, to: string, keep: (name: string) => boolean): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    if (f.endsWith('.yaml') && keep(f)) fs.copyFileSync(path.join(from, f), path.join(to, f));
  }
}

async function acquireLock(lock: string, log: (l: string) => void): Promise<void> {
  let warned = false;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Stale lock from a dead builder?
    const pid = Number(fs.readFileSync(path.join(lock, 'pid'), { encoding: 'utf8', flag: 'a+' }) || 0);
    if (pid && !isAlive(pid)) {
      fs.rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!warned) log(`waiting for another build (pid ${pid || '?'}) holding ${lock}`);
    warned = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
