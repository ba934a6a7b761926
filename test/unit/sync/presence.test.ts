// When a sync session's workload has left dev mode (issue 16): the decision from what the two GETs saw.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exitCodeFor, EXIT } from '../../../src/cli/exit-codes.ts';
import { DEV_MODE_LABEL, SINCE_ANNOTATION } from '../../../src/core/marks.ts';
import type { KubeObject } from '../../../src/core/objects.ts';
import { presenceVerdict, SECRET_MISSING_CHECKS, sessionEndedError, type PresenceInput, type Seen } from '../../../src/sync/presence.ts';
import { SECRET_KEY_LOCAL_CERT } from '../../../src/sync/secret.ts';
import { listSessions, statePaths, writeSession, type SessionInfo } from '../../../src/sync/state.ts';
import { tempDir } from './support.ts';

const CERT = '-----BEGIN CERTIFICATE-----\nlaptop\n-----END CERTIFICATE-----\n';
const inDevMode: Seen = { object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web', [DEV_MODE_LABEL]: 'true' } } } };
const secretWith = (cert: string, extra: Record<string, unknown> = {}): Seen => ({
  object: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-deployment-dev-sync', ...extra }, data: { [SECRET_KEY_LOCAL_CERT]: Buffer.from(cert).toString('base64') } },
});
const input = (over: Partial<PresenceInput>): PresenceInput => ({
  kind: 'Deployment', name: 'web', namespace: 'team', secretName: 'web-deployment-dev-sync',
  workload: inDevMode, secret: secretWith(CERT), localCertPem: CERT, secretMissing: 0, ...over,
});

describe('is the workload still in dev mode (presenceVerdict)', () => {
  it('in dev mode with this session’s Secret: the session goes on', () => {
    expect(presenceVerdict(input({}))).toEqual({ secretMissing: 0 });
  });

  it('errors tell nothing: unreachable, timeouts, 5xx, 403 never end a session, for the workload or the Secret', () => {
    for (const failed of ['get Deployment/web: cannot reach the API server (ECONNREFUSED)', 'no answer within the request timeout (10000 ms)', 'HTTP 503', 'forbidden']) {
      const onWorkload = presenceVerdict(input({ workload: { failed }, secretMissing: 1 }));
      expect(onWorkload.end).toBeUndefined();
      expect(onWorkload.unknown).toContain(failed);
      expect(onWorkload.secretMissing).toBe(1); // unchanged: nothing was learnt
      expect(presenceVerdict(input({ secret: { failed } })).end).toBeUndefined();
    }
    // Even with the Secret gone: the workload could not be read, so nothing is known about it.
    expect(presenceVerdict(input({ workload: { failed: 'ETIMEDOUT' }, secret: { absent: true }, secretMissing: 5 })).end).toBeUndefined();
  });

  it('a 404 for the workload (deleted, or its namespace) ends the session at once', () => {
    expect(presenceVerdict(input({ workload: { absent: true }, secret: { absent: true } })).end)
      .toEqual({ cause: 'deleted', reason: 'deployment/web was deleted (it is not in namespace team any more)' });
    expect(presenceVerdict(input({ workload: { absent: true }, secret: { failed: 'ECONNRESET' } })).end?.cause).toBe('deleted');
    // A Pod's end deletes it and creates the original: the reason says so.
    expect(presenceVerdict(input({ kind: 'Pod', workload: { absent: true } })).end?.reason).toBe('pod/web was deleted or replaced (kubectl dev end elsewhere?)');
  });

  it('a workload being deleted ends it', () => {
    const going: Seen = { object: { ...(inDevMode as { object: object }).object, metadata: { name: 'web', labels: { [DEV_MODE_LABEL]: 'true' }, deletionTimestamp: '2026-12-02T10:00:00Z' } } };
    expect(presenceVerdict(input({ workload: going })).end).toEqual({ cause: 'deleted', reason: 'deployment/web is being deleted' });
  });

  it('a workload without the dev-mode label left dev mode (end elsewhere), whatever the Secret', () => {
    const restored: Seen = { object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } } } };
    const wrongValue: Seen = { object: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { [DEV_MODE_LABEL]: 'false' } } } };
    for (const secret of [secretWith(CERT), { absent: true } as const, { failed: 'HTTP 500' }]) {
      expect(presenceVerdict(input({ workload: restored, secret })).end).toEqual({ cause: 'left-dev-mode', reason: 'deployment/web left dev mode (kubectl dev end elsewhere?)' });
    }
    expect(presenceVerdict(input({ workload: wrongValue })).end?.cause).toBe('left-dev-mode');
    expect(presenceVerdict(input({ workload: { object: { kind: 'Deployment', metadata: { name: 'web' } } } })).end?.cause).toBe('left-dev-mode');
  });

  it('the Secret gone while the workload is in dev mode ends it only when the next check still finds it so (an end under way gets its own reason)', () => {
    const first = presenceVerdict(input({ secret: { absent: true } }));
    expect(first.end).toBeUndefined();
    expect(first.secretMissing).toBe(1);
    const second = presenceVerdict(input({ secret: { absent: true }, secretMissing: first.secretMissing }));
    expect(SECRET_MISSING_CHECKS).toBe(2);
    expect(second.end).toEqual({ cause: 'secret-deleted', reason: 'the sync Secret web-deployment-dev-sync of deployment/web was deleted' });
    // A Secret being deleted counts as gone; one back in between resets the count.
    expect(presenceVerdict(input({ secret: secretWith(CERT, { deletionTimestamp: '2026-12-02T10:00:00Z' }), secretMissing: 1 })).end?.cause).toBe('secret-deleted');
    expect(presenceVerdict(input({ secretMissing: 1 }))).toEqual({ secretMissing: 0 });
  });

  it('a new Secret (dev mode ended and started again elsewhere: new identities) ends it', () => {
    expect(presenceVerdict(input({ secret: secretWith('-----BEGIN CERTIFICATE-----\nanother\n-----END CERTIFICATE-----\n') })).end)
      .toEqual({ cause: 'secret-replaced', reason: 'deployment/web entered dev mode again with a new sync Secret (kubectl dev end and start elsewhere?)' });
    expect(presenceVerdict(input({ secret: { object: { kind: 'Secret', metadata: { name: 'x' }, data: {} } } })).end?.cause).toBe('secret-replaced');
  });

  it('the error a command ends with: typed, exit code 3, with a hint', () => {
    const left = sessionEndedError({ cause: 'left-dev-mode', reason: 'deployment/web left dev mode (kubectl dev end elsewhere?)' }, 'Deployment', 'web', 'team');
    expect(left.code).toBe('SYNC_NOT_IN_DEV_MODE');
    expect(left.message).toBe('sync ended: deployment/web left dev mode (kubectl dev end elsewhere?)');
    expect(left.hint).toBe('to sync again, start dev mode again: kubectl dev start deployment/web -n team');
    const deleted = sessionEndedError({ cause: 'deleted', reason: 'deployment/web was deleted' }, 'Deployment', 'web', 'team');
    expect(deleted.code).toBe('NOT_FOUND');
    for (const cause of ['deleted', 'left-dev-mode', 'secret-deleted', 'secret-replaced'] as const) {
      expect(exitCodeFor(sessionEndedError({ cause, reason: 'r' }, 'Deployment', 'web', 'team').code)).toBe(EXIT.input);
    }
  });
});

describe('a workload another field manager reverted (captured from the API server: test/unit/core/revert-captures)', () => {
  const captured = (name: string): { since: string; object: KubeObject } =>
    JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'core', 'revert-captures', `${name}.json`), 'utf8')) as { since: string; object: KubeObject };
  const secretSince = (since: string) => secretWith(CERT, { annotations: { [SINCE_ANNOTATION]: since } });

  it('kubectl apply of the original leaves the label: the session ends, naming the manager and the time', () => {
    const { object, since } = captured('client-side-apply');
    expect(presenceVerdict(input({ workload: { object }, secret: secretSince(since) })).end)
      .toEqual({ cause: 'reverted', reason: 'deployment/web was reverted by kubectl-client-side-apply at 2026-12-01T19:10:55Z' });
  });

  it('kubectl replace removes the label: reverted (a spec write after the start), not "left dev mode"', () => {
    const { object, since } = captured('replace');
    expect(presenceVerdict(input({ workload: { object }, secret: secretSince(since) })).end)
      .toEqual({ cause: 'reverted', reason: 'deployment/web was reverted by kubectl-replace at 2026-12-01T19:11:29Z' });
  });

  it('untouched, the session goes on; after an end elsewhere, it left dev mode', () => {
    const { object, since } = captured('in-dev-mode');
    expect(presenceVerdict(input({ workload: { object }, secret: secretSince(since) }))).toEqual({ secretMissing: 0 });
    const ended = captured('ended');
    expect(presenceVerdict(input({ workload: { object: ended.object }, secret: { absent: true } })).end?.cause).toBe('left-dev-mode');
  });

  it('its error exits 5 with the hint to end (which keeps that change)', () => {
    const error = sessionEndedError({ cause: 'reverted', reason: 'deployment/web was reverted by kubectl at 2026-12-01T19:11:04Z' }, 'Deployment', 'web', 'team');
    expect(error.code).toBe('DEV_MODE_REVERTED');
    expect(exitCodeFor(error.code)).toBe(EXIT.state);
    expect(error.message).toBe('sync ended: deployment/web was reverted by kubectl at 2026-12-01T19:11:04Z');
    expect(error.hint).toMatch(/^kubectl dev end deployment\/web -n team removes what dev mode left and keeps that change/);
  });
});

describe('listSessions', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('reads every workload’s session.json under the config dir; a lock of a live process means running', () => {
    const root = tempDir('sessions');
    dirs.push(root);
    const env = { XDG_CONFIG_HOME: root };
    expect(listSessions(env)).toEqual([]);
    const info = (name: string): SessionInfo => ({
      pid: 1, namespace: 'team', kind: 'Deployment', name, localDir: '/src', twoWay: false, folderId: 'f', localDeviceId: 'L', sidecarDeviceId: 'S',
      localApi: { url: 'unix:/x', apiKey: 'k' }, startedAt: 'a', updatedAt: 'b', state: 'stopped', connected: false,
    });
    const a = statePaths(env, { cluster: 'https://c', namespace: 'team', kind: 'Deployment', name: 'a' });
    const b = statePaths(env, { cluster: 'https://c', namespace: 'team', kind: 'Deployment', name: 'b' });
    for (const p of [a, b]) fs.mkdirSync(p.dir, { recursive: true });
    writeSession(a.session, { ...info('a'), ended: { cause: 'left-dev-mode', reason: 'r', at: 't' } });
    writeSession(b.session, info('b'));
    fs.writeFileSync(b.lock, JSON.stringify({ pid: process.pid, startedAt: 'now' }));
    fs.mkdirSync(path.join(root, 'kubectl-dev', 'sync', 'empty'));
    const found = listSessions(env).sort((x, y) => x.session.name.localeCompare(y.session.name));
    expect(found.map((f) => [f.dir, f.session.name, f.running, f.session.ended?.cause])).toEqual([[a.dir, 'a', false, 'left-dev-mode'], [b.dir, 'b', true, undefined]]);
  });
});
