// -R/--reverse REMOTE:LOCAL and the dev config's `reverse:`: parsed and checked before any cluster access.
import { describe, expect, it } from 'vitest';
import { devConfigFromValue } from '../../../src/config/devconfig.ts';
import { parseReverseSpec, parseReverseSpecs } from '../../../src/config/forward-spec.ts';
import { resolve } from '../../../src/config/resolve.ts';
import { DevError } from '../../../src/core/errors.ts';

describe('reverse specs', () => {
  it('REMOTE:LOCAL, or PORT for both', () => {
    expect(parseReverseSpec('9000:3000', '--reverse')).toEqual({ remote: 9000, local: 3000, text: '9000:3000' });
    expect(parseReverseSpec(5432, '--reverse')).toEqual({ remote: 5432, local: 5432, text: '5432' });
  });

  it('refuses what is not two ports, naming where it came from', () => {
    for (const bad of [':3000', '9000:', 'a:b', '1:2:3', '0:80', '80:70000']) {
      expect(() => parseReverseSpec(bad, '--reverse'), bad).toThrow(DevError);
    }
    expect(() => parseReverseSpec(':3000', '--reverse')).toThrow(/^--reverse: ":3000" is not REMOTE:LOCAL or PORT$/);
    expect(() => parseReverseSpec('80:70000', 'reverse in .kubectl-dev.yaml')).toThrow(/reverse in \.kubectl-dev\.yaml: "80:70000": ports are 1 to 65535/);
  });

  it('one pod port goes to one local port', () => {
    expect(parseReverseSpecs(['9000:3000', '9000:3000', '9001:3000'], '-R').map((s) => s.text)).toEqual(['9000:3000', '9001:3000']);
    expect(() => parseReverseSpecs(['9000:3000', '9000:3001'], '-R')).toThrow(/the pod's port 9000 is given twice \(9000:3000 and 9000:3001\)/);
  });

  it('the dev config\'s reverse: is checked with its path, and a flag replaces it', () => {
    const config = devConfigFromValue({ workloads: { 'deploy/web': { reverse: ['5432:5432', 6379] } } }, 'f.yaml');
    const entry = config.workloads[0]!;
    expect(entry.reverse).toEqual(['5432:5432', '6379']);
    expect(resolve(config, { kind: 'Deployment', name: 'web' }, undefined).reverse).toEqual({ specs: ['5432:5432', '6379'], from: 'config' });
    expect(resolve(config, { kind: 'Deployment', name: 'web' }, undefined, { reverse: ['7000:7000'] }).reverse).toEqual({ specs: ['7000:7000'], from: 'flag' });
    expect(() => devConfigFromValue({ workloads: { 'deploy/web': { reverse: [':80'] } } }, 'f.yaml')).toThrow(/workloads\["deploy\/web"\]\.reverse\[0\]: ":80" is not REMOTE:LOCAL or PORT/);
  });
});
