import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { flagLayer, Problems } from '../../../src/cli/command.ts';
import { SYNC_OPTIONS, syncChoiceFrom } from '../../../src/cli/sync-flags.ts';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { resolve } from '../../../src/config/resolve.ts';

describe('sync settings from the dev config', () => {
  const config = parseDevConfig([
    'defaults:',
    '  sync: { ignore: [node_modules], mode: send-only }',
    'workloads:',
    '  deployment/web:',
    "    sync: { localDir: ./web, ignore: ['*.log'], mode: two-way }",
    '  statefulset/db:',
    '    image: postgres:16',
  ].join('\n'), '/repo/.kubectl-dev.yaml');
  const args = { watcher: 'fast', 'watcher-delay': 1 } as const;
  const choice = (kind: string, name: string, flags: { 'two-way'?: boolean; 'local-dir'?: string; ignore?: string[] } = { 'two-way': true }, c: typeof config | undefined = config) => {
    const problems = new Problems();
    const result = syncChoiceFrom(resolve(c, { kind, name }, 'default', flagLayer(SYNC_OPTIONS, flags)), { ...args, ...flags }, c, '/cwd', problems);
    problems.throwIfAny();
    return result;
  };

  const choiceWithout = (kind: string, name: string) => {
    const problems = new Problems();
    return syncChoiceFrom(resolve(undefined, { kind, name }, 'default'), args, undefined, '/cwd', problems);
  };

  it('takes the workload entry over the defaults, local dir relative to the file', () => {
    expect(choice('Deployment', 'web')).toEqual({ localDir: '/repo/web', ignores: ['node_modules', '*.log'], twoWay: true });
    expect(choice('StatefulSet', 'db', {})).toEqual({ localDir: '/cwd', ignores: ['node_modules'], twoWay: false });
    expect(choice('Deployment', 'other', {})).toEqual({ localDir: '/cwd', ignores: ['node_modules'], twoWay: false });
  });

  it('flags win: --local-dir against the working directory, --ignore added', () => {
    expect(choice('Deployment', 'web', { 'two-way': false, 'local-dir': 'src', ignore: ['tmp'] })).toEqual({ localDir: '/cwd/src', ignores: ['node_modules', '*.log', 'tmp'], twoWay: false });
  });

  it('a dev config cannot turn two-way on by itself', () => {
    expect(() => choice('Deployment', 'web', {})).toThrow(/asks for two-way sync/);
  });

  it('is the working directory without a config', () => {
    expect(choiceWithout('Deployment', 'web')).toEqual({ localDir: '/cwd', ignores: [], twoWay: false });
  });
});

describe('sync.ignoreFile: .gitignore', () => {
  it('adds the tree\'s .gitignore files after the explicit patterns, with notes for what syncthing cannot say', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ignorefile-'));
    try {
      fs.writeFileSync(path.join(root, '.gitignore'), 'dist/\nbuild/\n*.log\n');
      fs.mkdirSync(path.join(root, 'dist'));
      const config = parseDevConfig(['workloads:', '  deployment/web:', '    sync: { ignore: [tmp], ignoreFile: .gitignore }'].join('\n'), path.join(root, '.kubectl-dev.yaml'));
      const choice = () => {
        const problems = new Problems();
        const out = syncChoiceFrom(resolve(config, { kind: 'Deployment', name: 'web' }, 'default'), { watcher: 'fast', 'watcher-delay': 1 }, config, root, problems);
        problems.throwIfAny();
        return out;
      };
      expect(choice().ignores).toEqual(['tmp', '*.log', 'build', 'dist']);
      // Directories of those names only: exact, nothing to say.
      expect(choice().ignoreNotes).toBeUndefined();
      // A file that git syncs but syncthing would ignore: named.
      fs.mkdirSync(path.join(root, 'tools'));
      fs.writeFileSync(path.join(root, 'tools', 'build'), '#!/bin/sh\n');
      expect(choice().ignoreNotes).toEqual(['.gitignore:2: "build/" matches only directories in git; syncthing cannot say "directory", so the file tools/build is ignored too']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('takes only .gitignore', () => {
    expect(() => parseDevConfig('workloads:\n  deployment/web:\n    sync: { ignoreFile: .dockerignore }\n', '/repo/.kubectl-dev.yaml'))
      .toThrow(/sync\.ignoreFile .*must be \.gitignore/);
  });
});

