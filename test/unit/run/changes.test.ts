import { describe, expect, it } from 'vitest';
import { ChangeTracker, matchesRestartGlob } from '../../../src/run/changes.ts';

const tracker = (restartOn?: string[]) => new ChangeTracker({ quietMs: 100, maxWaitMs: 3_000, ...(restartOn ? { restartOn } : {}) });

describe('when a restart is due', () => {
  it('waits until every saved path has landed and both sides were quiet', () => {
    const t = tracker();
    t.saved(['a.js', 'b.js'], 0);
    t.landedIn(['a.js'], 20);
    expect(t.take(500)).toBeUndefined(); // b.js is still on its way
    t.landedIn(['b.js'], 600);
    expect(t.take(650)).toBeUndefined(); // not quiet yet
    expect(t.nextCheckAt()).toBe(700);
    expect(t.take(700)).toEqual({ paths: ['a.js', 'b.js'], count: 2, gaveUpOn: [] });
    expect(t.take(800)).toBeUndefined(); // taken
  });

  it('restarts once for a burst', () => {
    const t = tracker();
    const files = Array.from({ length: 50 }, (_, i) => `data/f${i}.txt`);
    t.saved(files.slice(0, 30), 0);
    t.landedIn(files.slice(0, 30), 40);
    t.saved(files.slice(30), 45);
    expect(t.take(200)).toBeUndefined();
    t.landedIn(files.slice(30), 90);
    const due = t.take(190);
    expect(due?.count).toBe(50);
    expect(due?.paths).toHaveLength(5);
    expect(t.take(1_000)).toBeUndefined();
  });

  it('needs a landing: saves alone never restart', () => {
    const t = tracker();
    t.saved(['a.js'], 0);
    expect(t.nextCheckAt()).toBeUndefined();
    expect(t.take(10_000)).toBeUndefined();
  });

  it('counts landings nobody here saved (another machine, a new dev pod)', () => {
    const t = tracker();
    t.landedIn(['src/x.ts'], 0);
    expect(t.take(100)?.paths).toEqual(['src/x.ts']);
  });

  it('a landed file settles a saved directory, and the reverse', () => {
    const t = tracker();
    t.saved(['src', 'lib/util.js'], 0);
    t.landedIn(['src/new.js', 'lib'], 10);
    expect(t.waitingFor()).toEqual([]);
  });

  it('gives up on saves that never land, after maxWaitMs', () => {
    const t = tracker();
    t.saved(['a.js', '.a.js.swp'], 0);
    t.landedIn(['a.js'], 10);
    expect(t.take(2_000)).toBeUndefined();
    expect(t.nextCheckAt()).toBe(3_000);
    expect(t.take(3_000)).toEqual({ paths: ['a.js'], count: 1, gaveUpOn: ['.a.js.swp'] });
  });

  it('drop forgets a save that will not land', () => {
    const t = tracker();
    t.saved(['a.js', '4913'], 0);
    t.landedIn(['a.js'], 10);
    t.drop('4913');
    expect(t.take(110)?.paths).toEqual(['a.js']);
  });

  it('--restart-on: only matching landings restart, but every save is waited for', () => {
    const t = tracker(['*.py']);
    t.saved(['app.py', 'README.md'], 0);
    t.landedIn(['README.md'], 10);
    expect(t.take(200)).toBeUndefined();
    expect(t.nextCheckAt()).toBeUndefined();
    t.landedIn(['app.py'], 300);
    expect(t.take(400)).toEqual({ paths: ['app.py'], count: 1, gaveUpOn: [] });
  });
});

describe('restart globs', () => {
  it('match the file name at any depth without "/", the path from the top with one', () => {
    expect(matchesRestartGlob('src/deep/app.py', '*.py')).toBe(true);
    expect(matchesRestartGlob('app.py', '*.py')).toBe(true);
    expect(matchesRestartGlob('app.pyc', '*.py')).toBe(false);
    expect(matchesRestartGlob('src/a/b.ts', 'src/**')).toBe(true);
    expect(matchesRestartGlob('test/a.ts', 'src/**')).toBe(false);
    expect(matchesRestartGlob('src/a.ts', './src/*.ts')).toBe(true);
  });
});
