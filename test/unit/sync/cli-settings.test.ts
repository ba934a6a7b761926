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
