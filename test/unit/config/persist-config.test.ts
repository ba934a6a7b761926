// persist and persistentVolume in the dev config and on the command line: appended paths,
// replaced size and class, every mistake named with its path.

import { describe, expect, it } from 'vitest';
import { parseDevConfig } from '../../../src/config/devconfig.ts';
import { resolve } from '../../../src/config/resolve.ts';

const config = parseDevConfig([
  'defaults:',
  '  persist: [/root/.cache]',
  '  persistentVolume: { size: 10Gi }',
  'workloads:',
  '  deployment/web:',
  '    persist: [/workspace, /root/.cache]',
  '    persistentVolume: { storageClass: fast }',
].join('\n'), '.kubectl-dev.yaml');
const web = { kind: 'Deployment', name: 'web' };

describe('persist in the dev config', () => {
  it('appends paths from the defaults, the entry and the flags, each once; size and class replace', () => {
    expect(resolve(config, web, undefined, {}).settings.persist).toEqual(['/root/.cache', '/workspace']);
    expect(resolve(config, web, undefined, {}).volume).toEqual({ size: '10Gi', storageClass: 'fast' });
    const flagged = resolve(config, web, undefined, { persist: ['/go/pkg', '/workspace'], size: '2Gi' });
    expect(flagged.settings.persist).toEqual(['/root/.cache', '/workspace', '/go/pkg']);
    expect(flagged.volume).toEqual({ size: '2Gi', storageClass: 'fast' });
    expect(resolve(undefined, web, undefined, {}).volume).toEqual({});
    expect(resolve(undefined, web, undefined, {}).settings.persist).toBeUndefined();
  });

  it('names each mistake with its path and line', () => {
    const bad = () => parseDevConfig([
      'workloads:',
      '  deployment/web:',
      '    persist: [relative/path]',
      '    persistentVolume: { size: lots, class: x }',
    ].join('\n'), 'f.yaml');
    expect(bad).toThrow(/workloads\["deployment\/web"\]\.persistentVolume\.class \(line 4\): unknown key "class" \(allowed here: size, storageClass\)/);
    expect(bad).toThrow(/persistent volume size "lots" is not a quantity/);
    expect(bad).toThrow(/persist path "relative\/path" must be an absolute path/);
    expect(() => parseDevConfig('defaults:\n  persist: /one\n', 'f.yaml')).toThrow(/defaults\.persist/);
  });
});
