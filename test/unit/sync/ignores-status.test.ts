import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyIgnores, copyMatcher, ignoreMatcher, MANAGED_HEADER, planIgnores, syncthingRules } from '../../../src/sync/ignores.ts';
import { summarize, type SyncSnapshot } from '../../../src/sync/status.ts';
import { collapseSubs } from '../../../src/sync/watch.ts';
import { tempDir } from './support.ts';

describe('ignore plan', () => {
  it('writes nothing when there is nothing to ignore', () => {
    expect(planIgnores({ existing: undefined, gitExists: false, configured: [] })).toMatchObject({ action: 'none', lines: [] });
  });

  it('ignores .git by default, plus the configured patterns, in a managed .stignore', () => {
    const plan = planIgnores({ existing: undefined, gitExists: true, configured: ['node_modules', '*.log', 'node_modules'] });
    expect(plan.action).toBe('write');
    expect(plan.lines).toEqual(['.git', 'node_modules', '*.log']);
    expect(plan.content).toBe(`${MANAGED_HEADER}\n.git\nnode_modules\n*.log\n`);
    expect(planIgnores({ existing: plan.content, gitExists: true, configured: ['node_modules', '*.log'] }).action).toBe('none');
  });

  it('never edits the developer’s own .stignore, and says which patterns it lacks', () => {
    const plan = planIgnores({ existing: 'build\n.git\n', gitExists: true, configured: ['node_modules'] });
    expect(plan).toMatchObject({ action: 'keep-user-file', notApplied: ['node_modules'] });
    expect(plan.lines).toContain('build');
  });

  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  it('applies the plan to a directory', () => {
    const dir = tempDir('ign');
    dirs.push(dir);
    expect(applyIgnores(dir, []).action).toBe('none');
    expect(fs.existsSync(path.join(dir, '.stignore'))).toBe(false);
    fs.mkdirSync(path.join(dir, '.git'));
    applyIgnores(dir, ['tmp']);
    expect(fs.readFileSync(path.join(dir, '.stignore'), 'utf8')).toBe(`${MANAGED_HEADER}\n.git\ntmp\n`);
  });
});

describe('ignore matcher (fast path filter)', () => {
  const m = ignoreMatcher(['// comment', '.git', '/build', '*.log', 'node_modules/', '!keep.log', '(?i)*.TMP', 'docs/**/*.pdf', '#include other']);
  it.each([
    ['.git', true], ['.git/objects/ab/cd', true], ['sub/.git/HEAD', true],
    ['build', true], ['build/out.js', true], ['src/build', false],
    ['app.log', true], ['a/b/app.log', true], ['keep.log', true /* first match wins: *.log comes first */],
    ['node_modules/x/index.js', true], ['x.tmp', true], ['docs/a/b/c.pdf', true], ['docs/c.pdf', false /* not skipped: syncthing decides */], ['src/main.ts', false], ['gitignore', false],
  ])('%s → %s', (p, ignored) => {
    expect(m(p)).toBe(ignored);
  });
  it('honours negation in order', () => {
    const n = ignoreMatcher(['!important.log', '*.log']);
    expect(n('important.log')).toBe(false);
    expect(n('other.log')).toBe(true);
  });
});

describe('collapsing changed paths for one scan', () => {
  it('keeps few paths, collapses many to their parents, or to everything', () => {
    expect(collapseSubs(['a', 'b/c', 'a'], 10)).toEqual(['a', 'b/c']);
    const many = Array.from({ length: 50 }, (_, i) => `dir${i % 3}/f${i}`);
    expect(collapseSubs(many, 10)).toEqual(['dir0', 'dir1', 'dir2']);
    expect(collapseSubs([...many, 'top'], 10)).toEqual([]);
    const nested = Array.from({ length: 20 }, (_, i) => (i % 2 ? `a/b/f${i}` : `a/f${i}`));
    expect(collapseSubs(nested, 5)).toEqual(['a']);
  });
});

describe('sync state', () => {
  const idle: SyncSnapshot = {
    localUp: true, connected: true,
    local: { state: 'idle', sequence: 5, needTotalItems: 0, needBytes: 0, globalFiles: 3, globalBytes: 10, localFiles: 3, localBytes: 10 },
    remote: { state: 'idle', sequence: 9, needTotalItems: 0, needBytes: 0, globalFiles: 3, globalBytes: 10, localFiles: 3, localBytes: 10 },
    remoteCompletion: { completion: 100, needBytes: 0, needItems: 0, needDeletes: 0 },
    remoteErrors: [], localErrors: [],
  };
  it('is idle when the sidecar has everything', () => {
    expect(summarize(idle)).toMatchObject({ state: 'idle', connected: true, completion: 100, errors: [] });
  });
  it('is syncing while the sidecar needs items or either side is busy', () => {
    expect(summarize({ ...idle, remoteCompletion: { completion: 40, needBytes: 5, needItems: 2, needDeletes: 0 } }).state).toBe('syncing');
    expect(summarize({ ...idle, local: { ...idle.local!, state: 'scanning' } }).state).toBe('syncing');
    expect(summarize({ ...idle, remote: { ...idle.remote!, state: 'syncing', needTotalItems: 1 } }).state).toBe('syncing');
  });
  it('is idle as soon as the sidecar has the local index up to its sequence and needs nothing', () => {
    // The local side still sees the sidecar's completion as it was (its index updates lag).
    const lagging = { ...idle, remoteCompletion: { completion: 97.8, needBytes: 5, needItems: 110, needDeletes: 0 } };
    expect(summarize(lagging).state).toBe('syncing');
    expect(summarize({ ...lagging, remoteHasLocalSequence: 5 }).state).toBe('idle');
    expect(summarize({ ...lagging, remoteHasLocalSequence: 7 }).state).toBe('idle');
    // Not yet the local index's current sequence: a change may still be on its way.
    expect(summarize({ ...lagging, remoteHasLocalSequence: 4 }).state).toBe('syncing');
    // The sidecar still pulls.
    expect(summarize({ ...lagging, remoteHasLocalSequence: 5, remote: { ...idle.remote!, state: 'syncing', needTotalItems: 3 } }).state).toBe('syncing');
    // Without the sidecar's own view, only the local side's view counts.
    expect(summarize({ ...lagging, remoteHasLocalSequence: 5, remote: undefined }).state).toBe('syncing');
  });
  it('is syncing while the local folder is paused on purpose (the initial copy holds the index back)', () => {
    expect(summarize({ localUp: true, connected: false, localPaused: true, remoteErrors: [], localErrors: [] })).toMatchObject({ state: 'syncing', errors: [] });
  });
  it('is connecting without a connection, with the session’s last problem', () => {
    expect(summarize({ ...idle, connected: false }).state).toBe('connecting');
  });
  it('is error with pull errors in the container or a folder error', () => {
    const s = summarize({ ...idle, remoteErrors: [{ path: 'a.txt', error: 'open /w/a.txt: permission denied' }] });
    expect(s.state).toBe('error');
    expect(s.errors[0]).toMatch(/dev container: 1 item\(s\) failed — a\.txt: open \/w\/a\.txt: permission denied/);
    expect(summarize({ ...idle, remote: { ...idle.remote!, error: 'insufficient space on disk for /w' } }).errors).toEqual(['dev container folder: insufficient space on disk for /w']);
    expect(summarize({ localUp: false, connected: false, remoteErrors: [], localErrors: [], sessionError: 'local syncthing exited (code 1)' })).toMatchObject({ state: 'error', errors: ['local syncthing exited (code 1)'] });
  });
});

// Issue 17, point 4: with "secrets.env" ignored on macOS, "Secrets.env" went into the container
// through the initial copy (syncthing folds case there, so it never sent or deleted it).
describe('ignore matching by platform, and what the initial copy leaves out', () => {
  const lines = ['secrets.env', 'build\\out', '(?i)Cache', '!keep.log', '*.log'];

  it('reads patterns as syncthing does on each platform: case folded on macOS and Windows, "\\" a separator on Windows', () => {
    const linux = ignoreMatcher(lines, syncthingRules('linux'));
    const darwin = ignoreMatcher(lines, syncthingRules('darwin'));
    const win = ignoreMatcher(lines, syncthingRules('win32'));
    expect([linux('secrets.env'), linux('Secrets.env'), darwin('Secrets.env'), win('SECRETS.ENV')]).toEqual([true, false, true, true]);
    // "(?i)" folds everywhere.
    expect([linux('CACHE'), linux('sub/cache/x')]).toEqual([true, true]);
    // "build\out": an escaped "o" (buildout) on Linux and macOS, build/out on Windows.
    expect([linux('buildout'), linux('build/out'), darwin('build/out'), win('build/out'), win('build/out/x.o')]).toEqual([true, false, false, true, true]);
    // Negations keep their order.
    expect([linux('keep.log'), linux('other.log'), darwin('KEEP.LOG'), darwin('Other.LOG')]).toEqual([false, true, false, true]);
    expect(syncthingRules('linux')).toEqual({ foldCase: false, backslashIsSeparator: false });
  });

  it('the copy leaves out whatever any platform\'s rules ignore', () => {
    const copyIgnores = copyMatcher(lines);
    for (const rel of ['secrets.env', 'Secrets.env', 'SECRETS.ENV', 'build/out', 'buildout', 'x/Cache', 'a.log', 'A.LOG']) expect(copyIgnores(rel), rel).toBe(true);
    for (const rel of ['keep.log', 'main.ts', 'build/in']) expect(copyIgnores(rel), rel).toBe(false);
  });
});
