import { describe, expect, it } from 'vitest';
import { syncSettingsFrom } from '../../../src/cli/sync-flags.ts';
import { parseDevConfig } from '../../../src/config/devconfig.ts';

describe('sync settings from the dev config', () => {
  const config = parseDevConfig([
    'defaults:',
    '  sync: { ignore: [node_modules], mode: send-only }',
    'workloads:',
    '  deployment/web:',
    "    sync: { localDir: ./web, ignore: ['*.log'], mode: two-way }",
    '  statefulset/db:',
    '    image: postgres:16',
  ].join('\n'), '.kubectl-dev.yaml');

  it('takes the workload entry over the defaults, local dir relative to the file', () => {
    expect(syncSettingsFrom(config, 'Deployment', 'web', '/repo')).toEqual({ localDir: '/repo/web', ignore: ['node_modules', '*.log'], twoWay: true });
    expect(syncSettingsFrom(config, 'StatefulSet', 'db', '/repo')).toEqual({ ignore: ['node_modules'], twoWay: false });
    expect(syncSettingsFrom(config, 'Deployment', 'other', '/repo')).toEqual({ ignore: ['node_modules'], twoWay: false });
  });

  it('is empty without a config', () => {
    expect(syncSettingsFrom(undefined, 'Deployment', 'web', '/repo')).toEqual({ ignore: [] });
  });
});
