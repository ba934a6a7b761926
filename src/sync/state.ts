// The laptop side's state, one directory per workload under the user's config dir:
//   $XDG_CONFIG_HOME/kubectl-dev/sync/<key>/     (~/.config/... without XDG_CONFIG_HOME;
//                                                 %APPDATA%\kubectl-dev\... on Windows)
//     home/           syncthing's home: config.xml, cert.pem, key.pem, its database
//     sync.lock       the running session's pid (one local sync per workload)
//     session.json    how to reach the running session (REST addresses, keys) and its last state;
//                     for a session that ended itself, why (its workload left dev mode)
//     syncthing.log   syncthing's output
//     gui.sock        the local syncthing's GUI/REST API (a unix socket; not on Windows)
//     versions/       two-way sync: what the container deleted or replaced on this machine
// Directories are 0700 and files 0600: they hold a private key and API keys.

import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DevError } from '../core/errors.ts';
import { boundedName, stableHash } from '../core/names.ts';
import { isAlive, signalGroup } from './process.ts';

export interface SyncTarget {
  /** API server URL of the cluster (tells two clusters' workloads apart). */
  cluster: string;
  namespace: string;
  /** Workload kind, e.g. "Deployment". */
  kind: string;
  name: string;
}

/** kubectl-dev's config dir. */
export function configDir(env: NodeJS.ProcessEnv, home = homedir()): string {
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'kubectl-dev');
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'kubectl-dev');
  return join(home, '.config', 'kubectl-dev');
}

/** A file-name-safe key for one workload on one cluster: `ns.kind.name-<hash of cluster>`. */
export function workloadKey(target: SyncTarget): string {
  const base = `${target.namespace}.${target.kind.toLowerCase()}.${target.name}`.replace(/[^A-Za-z0-9._-]/g, '_');
  return boundedName(base, `-${stableHash(target.cluster)}`, 120);
}

export interface StatePaths {
  dir: string;
  home: string;
  lock: string;
  session: string;
  log: string;
}

export function statePaths(env: NodeJS.ProcessEnv, target: SyncTarget): StatePaths {
  const dir = join(configDir(env), 'sync', workloadKey(target));
  return { dir, home: join(dir, 'home'), lock: join(dir, 'sync.lock'), session: join(dir, 'session.json'), log: join(dir, 'syncthing.log') };
}

/** Where two-way sync keeps what the container deleted or replaced on the laptop: the workload's state dir (0700), not the synced folder. */
export function versionsDir(paths: StatePaths): string {
  return join(paths.dir, 'versions');
}

export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** Writes a file with mode 0600 atomically (write to a temp file, then rename). */
export function writePrivateFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The command line of a running process, when the platform tells. */
export function commandLineOf(pid: number): string | undefined {
  try {
    if (existsSync('/proc/self/cmdline')) return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface LockInfo {
  pid: number;
  /** Its command line when the lock was taken: guards against a reused pid. */
  command?: string;
  startedAt: string;
}

/** True when the process that wrote `info` still runs (same pid, same command line where known). */
export function lockHolderAlive(info: LockInfo): boolean {
  if (!isAlive(info.pid)) return false;
  if (info.command === undefined) return true;
  const now = commandLineOf(info.pid);
  return now === undefined || now === info.command;
}

export function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' ? info : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the per-workload lock for this process. A lock left by a process that is
 * gone is taken over; a live holder gives SYNC_ALREADY_RUNNING. Returns a release function.
 */
export function acquireLock(path: string, what: string, now: () => Date = () => new Date()): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    const info: LockInfo = { pid: process.pid, startedAt: now().toISOString() };
    const command = commandLineOf(process.pid);
    if (command !== undefined) info.command = command;
    let fd: number;
    try {
      fd = openSync(path, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(path);
      if (holder && lockHolderAlive(holder)) {
        throw new DevError('SYNC_ALREADY_RUNNING', `a local sync for ${what} is already running (pid ${holder.pid}, since ${holder.startedAt})`,
          'use that session (kubectl dev status shows it), or stop it first: press Ctrl-C in its terminal, or run kubectl dev end.');
      }
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, JSON.stringify(info));
    closeSync(fd);
    return () => {
      const current = readLock(path);
      if (current?.pid === process.pid) rmSync(path, { force: true });
    };
  }
  throw new DevError('SYNC_ALREADY_RUNNING', `could not take the sync lock ${path}`, 'another kubectl-dev is starting a sync for the same workload; try again.');
}

export type SyncStateName = 'starting' | 'connecting' | 'syncing' | 'idle' | 'error' | 'stopped';

/** What a running session publishes about itself (session.json). */
export interface SessionInfo {
  pid: number;
  syncthingPid?: number;
  namespace: string;
  kind: string;
  name: string;
  localDir: string;
  twoWay: boolean;
  /** Two-way: where files the container deleted or replaced on this machine are kept. */
  versionsDir?: string;
  folderId: string;
  localDeviceId: string;
  sidecarDeviceId: string;
  /** Local syncthing's REST base URL and API key. */
  localApi: { url: string; apiKey: string };
  /** The sidecar's REST API through the port-forward. */
  remoteApi?: { url: string; apiKey: string };
  startedAt: string;
  updatedAt: string;
  state: SyncStateName;
  connected: boolean;
  pod?: string;
  lastError?: string;
  lastErrorAt?: string;
  /** Set when the session ended itself: its workload left dev mode, was deleted, or lost its sync Secret. */
  ended?: SessionEnd;
  /** When the session's last check found its workload still in dev mode. */
  inDevModeAt?: string;
}

/** Why a session ended itself (src/sync/presence.ts decides it). */
export interface SessionEnd {
  /** deleted: the workload (or its namespace) is gone or going; the others: it is no longer in dev mode as this session knew it. */
  /** reverted: another field manager undid dev mode (core/revert.ts). */
  cause: 'deleted' | 'left-dev-mode' | 'reverted' | 'secret-deleted' | 'secret-replaced';
  /** For people: "deployment/web left dev mode (kubectl dev end elsewhere?)". */
  reason: string;
  at: string;
}

export function readSession(path: string): SessionInfo | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as SessionInfo;
  } catch {
    return undefined;
  }
}

export function writeSession(path: string, info: SessionInfo): void {
  writePrivateFile(path, `${JSON.stringify(info, null, 2)}\n`);
}

/** Every workload's last session.json on this machine (all clusters), with whether its session still runs. */
export function listSessions(env: NodeJS.ProcessEnv): Array<{ dir: string; session: SessionInfo; running: boolean }> {
  const root = join(configDir(env), 'sync');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const dir = join(root, name);
    const session = readSession(join(dir, 'session.json'));
    if (!session) return [];
    const lock = readLock(join(dir, 'sync.lock'));
    return [{ dir, session, running: lock !== undefined && lockHolderAlive(lock) }];
  });
}

/** Kills a syncthing left running by a session that died without cleaning up. */
export function killOrphanSyncthing(paths: StatePaths): boolean {
  const previous = readSession(paths.session);
  const pid = previous?.syncthingPid;
  if (pid === undefined || !isAlive(pid)) return false;
  const command = commandLineOf(pid);
  if (command === undefined || !command.includes(paths.home)) return false;
  signalGroup(pid, 'SIGTERM');
  return true;
}
