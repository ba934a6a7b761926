import { describe, expect, it } from 'vitest';
import {
  afterSnapshot, dropPlan, holdsSidecar, initialState, localFolderPaused, LOOK_AFTER_MS, pokePlan, POKE_AGAIN_MS, releasing, releaseSteps, transition,
  type SessionEvent, type SessionState,
} from '../../../src/sync/session/state.ts';

const run = (s: SessionState, ...events: SessionEvent[]) => events.reduce(transition, s);
const at = '2026-12-01T00:00:00.000Z';

describe('session phase', () => {
  it('starting → running (the disconnection clock starts) → stopping → stopped', () => {
    let s = initialState(false);
    expect(s.phase).toBe('starting');
    s = transition(s, { type: 'running', at: 1000 });
    expect(s.phase).toBe('running');
    expect(s.reconnect.disconnectedSince).toBe(1000);
    s = transition(s, { type: 'stopping' });
    expect(s.phase).toBe('stopping');
    s = transition(s, { type: 'stopped' });
    expect(s.phase).toBe('stopped');
    expect(transition(s, { type: 'stopping' }).phase).toBe('stopped');
  });

  it('running again changes nothing', () => {
    const s = run(initialState(false), { type: 'running', at: 1 }, { type: 'running', at: 2 });
    expect(s.reconnect.disconnectedSince).toBe(1);
  });
});

describe('errors and the end', () => {
  it('the last error wins until the session ends itself; then why it ended stays', () => {
    let s = run(initialState(false), { type: 'failed', message: 'a', at }, { type: 'failed', message: 'b', at });
    expect(s.error?.message).toBe('b');
    s = transition(s, { type: 'ended', end: { cause: 'left-dev-mode', reason: 'deployment/web left dev mode' }, at });
    expect(s.ended).toEqual({ cause: 'left-dev-mode', reason: 'deployment/web left dev mode', at });
    expect(s.error).toEqual({ message: 'sync ended: deployment/web left dev mode', at });
    s = transition(s, { type: 'failed', message: 'c', at });
    expect(s.error?.message).toBe('sync ended: deployment/web left dev mode');
  });
});

describe('the initial copy holds the sidecar', () => {
  it('without a copy nothing is held', () => {
    const s = initialState(false);
    expect(s.hold.phase).toBe('none');
    expect(holdsSidecar(s)).toBe(false);
    expect(localFolderPaused(s)).toBe(false);
    expect(releasing(s)).toBe(false);
    expect(transition(s, { type: 'release' }).hold.phase).toBe('none');
    expect(transition(s, { type: 'copy-ended' }).copy).toBe('none');
  });

  it('held → released: the device is resumed, the folder was never paused', () => {
    let s = initialState(true);
    expect(s.hold.phase).toBe('held');
    expect(holdsSidecar(s)).toBe(true);
    s = run(s, { type: 'copy-started' });
    expect(s.copy).toBe('copying');
    s = transition(s, { type: 'release' });
    expect(holdsSidecar(s)).toBe(false);
    expect(releasing(s)).toBe(true);
    expect(releaseSteps(s)).toEqual({ resumeFolder: false, resumeDevice: true });
    s = run(s, { type: 'device-resumed' }, { type: 'copy-ended' });
    expect(s.hold.phase).toBe('released');
    expect(s.copy).toBe('done');
    expect(releaseSteps(s)).toEqual({ resumeFolder: false, resumeDevice: false });
  });

  it('connected early: the folder paused, still held; the release resumes the folder only', () => {
    let s = run(initialState(true), { type: 'connect-early' });
    expect(s.hold.phase).toBe('pausing');
    expect(localFolderPaused(s)).toBe(true);
    expect(holdsSidecar(s)).toBe(true);
    s = transition(s, { type: 'device-resumed' });
    expect(s.hold.phase).toBe('early');
    expect(holdsSidecar(s)).toBe(true);
    s = transition(s, { type: 'release' });
    expect(holdsSidecar(s)).toBe(false);
    expect(localFolderPaused(s)).toBe(true);
    expect(releaseSteps(s)).toEqual({ resumeFolder: true, resumeDevice: false });
    s = transition(s, { type: 'folder-resumed' });
    expect(s.hold.phase).toBe('released');
    expect(localFolderPaused(s)).toBe(false);
  });

  it('an early connection that failed half way: the release resumes both, folder first', () => {
    let s = run(initialState(true), { type: 'connect-early' }, { type: 'release' });
    expect(releaseSteps(s)).toEqual({ resumeFolder: true, resumeDevice: true });
    s = transition(s, { type: 'folder-resumed' });
    expect(s.hold.phase).toBe('releasing');
    expect(localFolderPaused(s)).toBe(false);
    s = transition(s, { type: 'device-resumed' });
    expect(s.hold.phase).toBe('released');
  });

  it('too late to connect early once released; a second release changes nothing', () => {
    const s = run(initialState(true), { type: 'release' });
    expect(transition(s, { type: 'connect-early' })).toEqual(s);
    expect(transition(s, { type: 'release' })).toEqual(s);
  });
});

describe('sidecar setup and modes', () => {
  it('records per pod what was set up, two-way, and the watcher fallback', () => {
    let s = run(initialState(false), { type: 'sidecar', patch: { readyFor: 'p1', watcherOnFor: 'p1' } }, { type: 'two-way-on', pod: 'p1' }, { type: 'watcher-fallback' });
    expect(s.sidecar).toEqual({ readyFor: 'p1', watcherOnFor: 'p1', twoWayPod: 'p1', lastTwoWayCheck: 0 });
    expect(s.twoWayActive).toBe(true);
    expect(s.watcherFallback).toBe(true);
    s = transition(s, { type: 'sidecar', patch: { twoWayPod: undefined } });
    expect(s.sidecar.twoWayPod).toBeUndefined();
    expect(s.twoWayActive).toBe(true);
    expect(transition(s, { type: 'secret-missing', count: 1 }).secretMissing).toBe(1);
  });
});

describe('reconnecting', () => {
  const runningAt = (t: number, copy = false) => transition(initialState(copy), { type: 'running', at: t });

  it('connected: set up the sidecar, forget the disconnection', () => {
    const d = afterSnapshot({ ...runningAt(0), reconnect: { lastPoke: 0, apiDropped: true, disconnectedSince: 0 } }, { connected: true, localUp: true, now: 10 });
    expect(d).toMatchObject({ setUp: true, look: false });
    expect(d.next.reconnect).toEqual({ lastPoke: 0, apiDropped: false });
  });

  it('held on purpose: neither set up nor look, connected or not', () => {
    const s = runningAt(0, true);
    expect(afterSnapshot(s, { connected: true, localUp: true, now: 10_000 })).toMatchObject({ setUp: false, look: false });
    const d = afterSnapshot(s, { connected: false, localUp: true, now: 10_000 });
    expect(d).toMatchObject({ setUp: false, look: false });
    expect(d.next.reconnect.disconnectedSince).toBeUndefined();
  });

  it('not connected: looks for the dev pod only after a while, and only when the local syncthing answers', () => {
    const s = runningAt(1000);
    expect(afterSnapshot(s, { connected: false, localUp: true, now: 1000 + LOOK_AFTER_MS }).look).toBe(false);
    expect(afterSnapshot(s, { connected: false, localUp: true, now: 1001 + LOOK_AFTER_MS }).look).toBe(true);
    expect(afterSnapshot(s, { connected: false, localUp: false, now: 100_000 })).toEqual({ next: s, setUp: false, look: false });
    const fresh = afterSnapshot({ ...s, reconnect: { lastPoke: 0, apiDropped: false } }, { connected: false, localUp: true, now: 5000 });
    expect(fresh.next.reconnect.disconnectedSince).toBe(5000);
    expect(fresh.look).toBe(false);
  });

  it('drops connections to a pod that is not the dev pod, and the REST ones once per disconnection', () => {
    const s = runningAt(0);
    const first = dropPlan(s, { found: 'new', activeStreams: 1, currentPod: 'old' });
    expect(first).toMatchObject({ dropSync: true, dropApi: true });
    const second = dropPlan(first.next, { found: 'new', activeStreams: 1, currentPod: 'new' });
    expect(second).toMatchObject({ dropSync: false, dropApi: false });
    expect(dropPlan(s, { activeStreams: 3, currentPod: 'old' }).dropSync).toBe(false);
  });

  it('asks syncthing to dial a found pod with no stream, again after a while or for another pod', () => {
    const s = runningAt(0);
    const first = pokePlan(s, { found: 'p1', activeStreams: 0, now: 1000 });
    expect(first.poke).toBe(true);
    expect(first.next.reconnect).toMatchObject({ lastPoke: 1000, lastPokedPod: 'p1' });
    expect(pokePlan(first.next, { found: 'p1', activeStreams: 0, now: 1000 + POKE_AGAIN_MS }).poke).toBe(false);
    expect(pokePlan(first.next, { found: 'p1', activeStreams: 0, now: 1001 + POKE_AGAIN_MS }).poke).toBe(true);
    expect(pokePlan(first.next, { found: 'p2', activeStreams: 0, now: 1001 }).poke).toBe(true);
    expect(pokePlan(s, { found: 'p1', activeStreams: 1, now: 1000 }).poke).toBe(false);
    expect(pokePlan(s, { activeStreams: 0, now: 1000 }).poke).toBe(false);
    expect(pokePlan(runningAt(0, true), { found: 'p1', activeStreams: 0, now: 1000 }).poke).toBe(false);
  });
});
