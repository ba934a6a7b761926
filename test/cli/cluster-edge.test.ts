// One cluster edge: outside src/kube, nothing makes client-node API clients; every request goes
// through src/kube (api.ts's ClusterApi, exec.ts, port-forward.ts), which the rest gets injected.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './run-cli.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

it('outside src/kube, client-node is imported for its KubeConfig only', () => {
  const outside = sources(join(ROOT, 'src')).filter((f) => !relative(ROOT, f).startsWith(join('src', 'kube') + '/'));
  expect(outside.length).toBeGreaterThan(100);
  const offending = outside.flatMap((f) => {
    const text = readFileSync(f, 'utf8');
    const imports = [...text.matchAll(/(?:import|export)\s+(type\s+)?\{([^}]*)\}\s+from\s+'@kubernetes\/client-node'/g)]
      .flatMap((m) => m[2]!.split(',').map((n) => n.trim().replace(/^type\s+/, '')).filter((n) => n !== ''));
    const names = imports.filter((n) => n !== 'KubeConfig');
    const clients = /makeApiClient|\bnew (?:Exec|PortForward|Watch|Log|Attach)\(/.test(text) ? ['makes API clients'] : [];
    return [...names, ...clients].map((what) => `${relative(ROOT, f)}: ${what}`);
  });
  expect(offending).toEqual([]);
});
