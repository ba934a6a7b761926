// The laptop's syncthing for one session: its home (the Secret's identity), its
// config.xml (written before every start), its GUI/REST address, the supervisor that
// keeps it running, the wait for its REST API, and kubectl-dev's own watcher (the
// fast path) that tells it what to scan.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DevError } from '../../core/errors.ts';
import { serveArgs, serveEnv, type SyncthingBinary } from '../binary.ts';
import { configXml, localConfig } from '../config.ts';
import { randomApiKey, randomGuiCredentials } from '../identity.ts';
import { Supervisor, type Clock, type Spawner } from '../process.ts';
import { SyncthingRest, unixSocketUrl, type FetchLike } from '../rest.ts';
import type { SyncMaterial } from '../secret.ts';
import { ensurePrivateDir, writePrivateFile, type StatePaths } from '../state.ts';
import { FastPath } from '../watch.ts';

/** Versions of each file kept by two-way sync. */
export const KEPT_VERSIONS = 10;
const GUI_SOCKET = 'gui.sock';
/** sun_path is 104 bytes on macOS (108 on Linux), the final NUL included. */
const MAX_SOCKET_PATH = 100;
/** How long the local syncthing has to answer on its REST API. */
const UP_TIMEOUT_MS = 30_000;

/**
 * Where the local syncthing's GUI/REST API listens. A unix socket in the session's state dir
 * (0700, so no other local user can even connect), created by syncthing itself: nothing is
 * bound here and released first for syncthing to bind again, which another process could
 * take in between and then read the API key of every request. A socket path has a length limit
 * (104 bytes on macOS, 108 on Linux): a long state dir gets a socket in a fresh 0700 directory
 * of the system's temp dir (mkdtemp), removed when the session stops. Windows, where Node
 * cannot connect to a unix socket, keeps a port on 127.0.0.1 (picked free, then bound by
 * syncthing): there the GUI's user and password and the API key are what protect it.
 */
export async function localGuiAddress(stateDir: string): Promise<{ address: string; url: string; cleanup: () => void }> {
  if (process.platform === 'win32') {
    const port = await freeTcpPort();
    return { address: `127.0.0.1:${port}`, url: `http://127.0.0.1:${port}`, cleanup: () => {} };
  }
  let dir = stateDir;
  let cleanup = () => {};
  if (Buffer.byteLength(join(dir, GUI_SOCKET)) > MAX_SOCKET_PATH) {
    dir = mkdtempSync(join(tmpdir(), 'kubectl-dev-'));
    chmodSync(dir, 0o700);
    const made = dir;
    cleanup = () => rmSync(made, { recursive: true, force: true });
  }
  const socket = join(dir, GUI_SOCKET);
  rmSync(socket, { force: true });
  return { address: socket, url: unixSocketUrl(socket), cleanup: () => {
    rmSync(socket, { force: true });
    cleanup();
  } };
}

/** A port on 127.0.0.1 free right now (Windows' GUI address; tests pick ports with it too). */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Writes cert.pem/key.pem into the local home; a different identity resets syncthing's database there. */
export function prepareHome(paths: StatePaths, material: SyncMaterial): void {
  ensurePrivateDir(paths.dir);
  const certPath = join(paths.home, 'cert.pem');
  const previous = existsSync(certPath) ? readFileSync(certPath, 'utf8') : undefined;
  if (previous !== material.localCertPem) rmSync(paths.home, { recursive: true, force: true });
  ensurePrivateDir(paths.home);
  writePrivateFile(certPath, material.localCertPem);
  writePrivateFile(join(paths.home, 'key.pem'), material.localKeyPem);
}

export interface LocalSyncthingOptions {
  paths: StatePaths;
  material: SyncMaterial;
  binary: SyncthingBinary;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  spawn?: Spawner;
  fetch?: FetchLike;
  localDir: string;
  /** The local end of the tunnel to the sidecar's sync port. */
  syncPort: number;
  /** Two-way: where syncthing keeps what the container deleted or replaced here. */
  versions?: string;
  /** `syncthing`: syncthing's own watcher only, with this delay. */
  syncthingWatcher: boolean;
  watcherDelayS?: number;
  /** Read before every (re)start: what config.xml says then. */
  config: () => { twoWay: boolean; watcherFallback: boolean; sidecarPaused: boolean };
  /** syncthing exited (the message says how, and whether it restarts). */
  onExit: (message: string) => void;
  /** Registers what the session's stop undoes, in the order made. */
  defer: (cleanup: () => Promise<void> | void) => void;
}

export interface LocalSyncthing {
  readonly rest: SyncthingRest;
  readonly apiKey: string;
  readonly supervisor: Supervisor;
  /** Resolves once its REST API answers; a DevError after 30 s. */
  waitUp(): Promise<void>;
}

export async function startLocalSyncthing(o: LocalSyncthingOptions): Promise<LocalSyncthing> {
  const apiKey = randomApiKey();
  const gui = randomGuiCredentials();
  const localGui = await localGuiAddress(o.paths.dir);
  o.defer(localGui.cleanup);
  const rest = new SyncthingRest(localGui.url, apiKey, o.fetch ? { fetch: o.fetch } : {});
  if (o.versions) ensurePrivateDir(o.versions);
  const writeConfig = () => {
    const now = o.config();
    writePrivateFile(join(o.paths.home, 'config.xml'), configXml(localConfig({
      localDeviceId: o.material.localDeviceId,
      sidecarDeviceId: o.material.sidecarDeviceId,
      apiKey,
      gui,
      localDir: o.localDir,
      guiAddress: localGui.address,
      sidecarAddress: `tcp://127.0.0.1:${o.syncPort}`,
      type: now.twoWay ? 'sendreceive' : 'sendonly',
      fsWatcherEnabled: o.syncthingWatcher || now.watcherFallback,
      fsWatcherDelayS: o.syncthingWatcher ? (o.watcherDelayS ?? 1) : 1,
      rescanIntervalS: 3600,
      sidecarPaused: now.sidecarPaused,
      ...(o.versions ? { versioning: { type: 'simple' as const, path: o.versions, params: { keep: String(KEPT_VERSIONS), cleanoutDays: '0' } } } : {}),
    })));
  };
  const supervisor = new Supervisor({
    command: o.binary.path,
    args: serveArgs(o.paths.home),
    env: serveEnv(o.env),
    logFile: o.paths.log,
    clock: o.clock,
    ...(o.spawn ? { spawn: o.spawn } : {}),
    beforeStart: writeConfig,
    onExit: ({ code, signal, restartInMs, lastLines }) => {
      const tail = lastLines.slice(-3).join(' | ');
      o.onExit(`local syncthing exited (${signal ?? `code ${code}`})${restartInMs !== undefined ? `, restarting in ${Math.round(restartInMs / 100) / 10} s` : ''}${tail ? `: ${tail}` : ''}`);
    },
  });
  await supervisor.start();
  o.defer(() => supervisor.stop());
  return { rest, apiKey, supervisor, waitUp: () => waitUp(o, rest, supervisor) };
}

async function waitUp(o: LocalSyncthingOptions, rest: SyncthingRest, supervisor: Supervisor): Promise<void> {
  const deadline = o.clock.now() + UP_TIMEOUT_MS;
  for (;;) {
    try {
      await rest.ping();
      return;
    } catch {
      if (o.clock.now() > deadline) {
        throw new DevError('SYNCTHING_FAILED', `the local syncthing (${o.binary.path} ${o.binary.version}) did not start: ${supervisor.lastLines().slice(-5).join(' | ') || 'no output'}`,
          `see ${o.paths.log}; check that ${o.paths.home} is writable and that syncthing runs on its own (${o.binary.path} --version).`);
      }
      await o.clock.sleep(100);
    }
  }
}

/**
 * kubectl-dev's watcher: asks the local syncthing to scan what changed. Its failure turns
 * on syncthing's own watcher instead (`onFailed`); a scan waits while the folder is paused
 * on purpose (connected early during the initial copy).
 */
export function watchLocalDir(o: {
  localDir: string; isIgnored: (rel: string) => boolean; rest: SyncthingRest; folderId: string; clock: Clock;
  paused: () => boolean; stopped: AbortSignal; onFailed: (why: string) => void; onError: (message: string) => void;
}): FastPath {
  // onError may come before the constructor returns: read through a variable.
  let fast: FastPath | undefined = undefined;
  fast = new FastPath({
    root: o.localDir,
    isIgnored: o.isIgnored,
    scan: async (subs) => {
      while (o.paused() && !o.stopped.aborted) await o.clock.sleep(20);
      await o.rest.scan(o.folderId, subs);
    },
    onError: (message) => {
      if (fast?.failed) o.onFailed(message);
      else o.onError(message);
    },
  });
  fast.start();
  return fast;
}

/** Turns syncthing's own watcher on (kubectl-dev's failed). */
export async function useSyncthingWatcher(rest: SyncthingRest, folderId: string): Promise<void> {
  await rest.patchFolder(folderId, { fsWatcherEnabled: true, fsWatcherDelayS: 1 });
}
