// --initial's pure part: the folder roles of each strategy, the flag's values, and when the first sync is over.
import { describe, expect, it } from 'vitest';
import { DevError } from '../../../src/core/errors.ts';
import { firstSyncSettled, initialPlan, INITIAL_STRATEGIES, parseInitialStrategy, SESSION_ROLES } from '../../../src/sync/initial.ts';
import { initialState, transition } from '../../../src/sync/session/state.ts';
import type { SyncSnapshot } from '../../../src/sync/status.ts';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { resolve } from '../../../src/config/resolve.ts';

describe('initialPlan', () => {
  it('local keeps the session\'s roles (the laptop send-only wins)', () => {
    expect(initialPlan('local')).toEqual({ strategy: 'local' });
  });
  it('remote: the container sends, the laptop receives', () => {
    expect(initialPlan('remote').during).toEqual({ local: { type: 'receiveonly', maxConflicts: 10 }, sidecar: { type: 'sendonly', maxConflicts: 10 } });
  });
  it('newest: both send and receive, no conflict copies (the older version goes)', () => {
    expect(initialPlan('newest').during).toEqual({ local: { type: 'sendreceive', maxConflicts: 0 }, sidecar: { type: 'sendreceive', maxConflicts: 0 } });
  });
  it('keep-both: both send and receive, with conflict copies', () => {
    expect(initialPlan('keep-both').during).toEqual({ local: { type: 'sendreceive', maxConflicts: 10 }, sidecar: { type: 'sendreceive', maxConflicts: 10 } });
  });
  it('afterwards the session\'s roles: the laptop send-only, the container receive-only', () => {
    expect(SESSION_ROLES).toEqual({ local: { type: 'sendonly', maxConflicts: 10 }, sidecar: { type: 'receiveonly', maxConflicts: 10 } });
  });
});

describe('parseInitialStrategy', () => {
  it.each(INITIAL_STRATEGIES)('takes %s', (s) => expect(parseInitialStrategy(s, '--initial')).toBe(s));
  it('refuses anything else, naming the choices', () => {
    let caught: unknown;
    try {
      parseInitialStrategy('theirs', '--initial');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DevError);
    expect((caught as DevError).message).toBe('--initial: "theirs" is not an initial sync strategy');
    expect((caught as DevError).hint).toContain('local, remote, newest, keep-both');
  });
});

const status = (over: Partial<NonNullable<SyncSnapshot['local']>> = {}) => ({ state: 'idle', sequence: 10, needTotalItems: 0, needBytes: 0, globalFiles: 3, globalBytes: 9, localFiles: 3, localBytes: 9, ...over });
const settled: SyncSnapshot = {
  localUp: true, connected: true, local: status(), remote: status({ sequence: 7 }),
  remoteCompletion: { completion: 100, needBytes: 0, needItems: 0, needDeletes: 0, sequence: 7 }, remoteHasLocalSequence: 10, remoteErrors: [], localErrors: [],
};

describe('firstSyncSettled', () => {
  it('when each side has the other\'s whole index, needs nothing and is idle', () => expect(firstSyncSettled(settled)).toBe(true));
  it.each([
    ['not connected', { connected: false }],
    ['the laptop lacks the sidecar\'s last index update', { remoteCompletion: { ...settled.remoteCompletion!, sequence: 6 } }],
    ['the sidecar lacks the laptop\'s', { remoteHasLocalSequence: 9 }],
    ['the laptop still pulls', { local: status({ needTotalItems: 1 }) }],
    ['the sidecar still pulls', { remote: status({ sequence: 7, needTotalItems: 2 }) }],
    ['the sidecar scans (a conflict copy)', { remote: status({ sequence: 7, state: 'scanning' }) }],
    ['the sidecar\'s view unknown', { remote: undefined }],
  ] as const)('not when %s', (_what, change) => expect(firstSyncSettled({ ...settled, ...change } as SyncSnapshot)).toBe(false));
});

describe('the session state of the first sync', () => {
  it('holds the sidecar without a copy, and records the first sync running and done', () => {
    const s = initialState(false, true);
    expect(s.hold).toEqual({ phase: 'held' });
    expect(s.copy).toBe('none');
    expect(s.firstSync).toBe('none');
    expect(transition(s, { type: 'first-sync', phase: 'running' }).firstSync).toBe('running');
    expect(transition(transition(s, { type: 'first-sync', phase: 'running' }), { type: 'first-sync', phase: 'done' }).firstSync).toBe('done');
  });
});

describe('sync.initial in the dev config', () => {
  it('is read and merged like the other sync fields (a flag wins)', () => {
    const config = parseDevConfig('workloads:\n  deploy/web:\n    sync: {initial: keep-both}\n', 'c.yaml');
    expect(resolve(config, { kind: 'Deployment', name: 'web' }, undefined).sync.initial).toBe('keep-both');
    expect(resolve(config, { kind: 'Deployment', name: 'web' }, undefined, { initial: 'remote' }).sync.initial).toBe('remote');
  });
  it('refuses an unknown value with its path and line', () => {
    expect(() => parseDevConfig('workloads:\n  deploy/web:\n    sync: {initial: theirs}\n', 'c.yaml')).toThrow(/sync\.initial.*line 3.*must be local, remote, newest, keep-both/);
  });
});
