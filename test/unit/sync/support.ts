// Helpers for tests that run real syncthing processes (unit, e2e and bench).
import { sidecarSyncthingBinary } from '../../tools/syncthing.ts';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { serveArgs, serveEnv } from '../../../src/sync/binary.ts';
import { Supervisor } from '../../../src/sync/process.ts';
import { SyncthingRest, unixSocketUrl } from '../../../src/sync/rest.ts';
import { parseConfigXml } from '../../../src/sync/config.ts';

/** The syncthing binary tests use: $KUBECTL_DEV_SYNCTHING or PATH. Throws with the install line when missing. */
export function syncthingForTests(): string {
  // The sidecar image's version, built from its module (test/tools/syncthing.ts): the same on both sides.
  return process.env.KUBECTL_DEV_SYNCTHING ?? sidecarSyncthingBinary();
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export { freeTcpPort as freePort } from '../../../src/sync/session/local-syncthing.ts';

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface RunningSyncthing {
  home: string;
  rest: SyncthingRest;
  supervisor: Supervisor;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Run as this uid/gid (root only, with setpriv): the real sidecar runs as uid 1000, gid 0. */
  asUser?: { uid: number; gid: number };
  timeoutMs?: number;
  /** Another syncthing than syncthingForTests() (bench/sync.ts --sidecar-syncthing). */
  binary?: string;
}

/** Starts syncthing with an existing home (config.xml, cert.pem, key.pem) and waits for its REST API. */
export async function startSyncthing(home: string, options: StartOptions = {}): Promise<RunningSyncthing> {
  const binary = options.binary ?? syncthingForTests();
  const cfg = parseConfigXml(fs.readFileSync(path.join(home, 'config.xml'), 'utf8'));
  const command = options.asUser ? 'setpriv' : binary;
  const args = options.asUser
    ? [`--reuid=${options.asUser.uid}`, `--regid=${options.asUser.gid}`, '--clear-groups', binary, ...serveArgs(home)]
    : serveArgs(home);
  const env = serveEnv(process.env);
  if (options.asUser) env.HOME = home;
  const supervisor = new Supervisor({ command, args, env, logFile: path.join(home, 'syncthing.log') });
  await supervisor.start();
  const rest = new SyncthingRest(cfg.guiAddress.startsWith('/') ? unixSocketUrl(cfg.guiAddress) : `http://${cfg.guiAddress}`, cfg.apiKey);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    try {
      await rest.ping();
      break;
    } catch (error) {
      if (Date.now() > deadline) {
        await supervisor.stop();
        throw new Error(`syncthing in ${home} did not come up: ${(error as Error).message}\n${supervisor.lastLines().join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { home, rest, supervisor, stop: () => supervisor.stop() };
}

/** The device ID the real syncthing computes for the certificate in `home`. */
export function syncthingDeviceId(home: string): string {
  const out = execFileSync(syncthingForTests(), ['serve', `--home=${home}`, '--device-id'], { encoding: 'utf8', env: serveEnv(process.env) });
  return out.trim().split('\n').pop()!.trim();
}

/** All files under `dir` (relative, "/"-separated) with their contents, skipping `skip` names at any depth. */
export function treeOf(dir: string, skip: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (skip.includes(entry.name)) continue;
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile()) out[child] = fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  walk('');
  return out;
}

/** Polls until `fn` is truthy. */
export async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 30_000, intervalMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
