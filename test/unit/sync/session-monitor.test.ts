import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/sync/process.ts';
import { Publisher, sessionInfoOf, statusChanged, statusOf, type SessionFacts } from '../../../src/sync/session/monitor.ts';
import { matcherCovers } from '../../../src/sync/session/initial-copy.ts';
import { readSession } from '../../../src/sync/state.ts';
import type { SyncStatus } from '../../../src/sync/status.ts';
import { tempDir } from './support.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const facts: SessionFacts = {
  pid: 42, namespace: 'ns', kind: 'Deployment', name: 'web', localDir: '/src', twoWay: false,
  folderId: 'f', localDeviceId: 'L', sidecarDeviceId: 'S', localApi: { url: 'http://local', apiKey: 'k' }, startedAt: '2026-12-01T00:00:00.000Z',
};

describe('the status from a summary', () => {
  it('adds the pod and the session error; a folder error is the last error', () => {
    const error = { message: 'port-forward: refused', at: '2026-12-01T00:00:01.000Z' };
    expect(statusOf({ state: 'idle', connected: true, errors: [] }, { copying: false, pod: 'p', error, now: 0 }))
      .toEqual({ state: 'idle', connected: true, errors: [], pod: 'p', lastError: error.message, lastErrorAt: error.at });
    const withFolderError = statusOf({ state: 'error', connected: true, errors: ['local folder: boom'] }, { copying: false, error, now: 5000 });
    expect(withFolderError.lastError).toBe('local folder: boom');
    expect(withFolderError.lastErrorAt).toBe(new Date(5000).toISOString());
  });

  it('says syncing, not connecting, while the initial copy fills the container', () => {
    expect(statusOf({ state: 'connecting', connected: false, errors: [] }, { copying: true, now: 0 }).state).toBe('syncing');
    expect(statusOf({ state: 'connecting', connected: false, errors: [] }, { copying: false, now: 0 }).state).toBe('connecting');
    expect(statusOf({ state: 'idle', connected: true, errors: [] }, { copying: true, now: 0 }).state).toBe('idle');
  });

  it('changes when what the caller hears about changes', () => {
    const a: SyncStatus = { state: 'idle', connected: true, errors: [], completion: 100 };
    expect(statusChanged(a, { ...a })).toBe(false);
    expect(statusChanged(a, { ...a, needItems: 3 })).toBe(false);
    expect(statusChanged(a, { ...a, completion: 50 })).toBe(true);
    expect(statusChanged(a, { ...a, pod: 'p' })).toBe(true);
    expect(statusChanged(a, { ...a, errors: ['x'] })).toBe(true);
  });
});

describe('session.json', () => {
  it('has the facts, the status and why the session ended', () => {
    const info = sessionInfoOf(facts, { state: 'stopped', connected: false, errors: [], lastError: 'sync ended: gone', lastErrorAt: 'then' },
      { syncthingPid: 7, now: 0, ended: { cause: 'deleted', reason: 'gone', at: 'then' } });
    expect(Object.keys(info).slice(0, 3)).toEqual(['pid', 'syncthingPid', 'namespace']);
    expect(info).toMatchObject({ pid: 42, syncthingPid: 7, state: 'stopped', connected: false, lastError: 'sync ended: gone', ended: { cause: 'deleted' } });
    expect(info).not.toHaveProperty('pod');
  });

  it('is written on a change, and otherwise at most every 5 s', () => {
    const dir = tempDir('monitor');
    dirs.push(dir);
    let now = 0;
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const heard: SyncStatus[] = [];
    const sessionPath = path.join(dir, 'session.json');
    const publisher = new Publisher({ clock, sessionPath, onChange: (s) => heard.push(s), info: (s) => sessionInfoOf(facts, s, { now }) });
    now = 10_000;
    publisher.publish({ state: 'syncing', connected: true, errors: [] });
    expect(readSession(sessionPath)?.state).toBe('syncing');
    fs.rmSync(sessionPath);
    now += 1000;
    publisher.publish({ state: 'syncing', connected: true, errors: [], needItems: 1 });
    expect(fs.existsSync(sessionPath)).toBe(false);
    now += 5000;
    publisher.publish({ state: 'syncing', connected: true, errors: [], needItems: 1 });
    expect(fs.existsSync(sessionPath)).toBe(true);
    expect(heard.map((s) => s.state)).toEqual(['syncing']);
    expect(publisher.current.needItems).toBe(1);
  });
});

describe('the initial copy', () => {
  it('uses the ignore patterns only when the matcher reads them all as syncthing does', () => {
    expect(matcherCovers(['.git', 'node_modules', '// comment', '(?i)*.LOG', '!keep.txt', '', '#'])).toBe(true);
    expect(matcherCovers(['#include more-ignores'])).toBe(false);
  });
});
