// status's table: unchanged without dev configs; grouped by the dev config `up` recorded, with a CONFIG column, once there is one.

import { describe, expect, it } from 'vitest';
import { byConfig, formatTable } from '../../../src/cli/commands/status.ts';
import type { StatusRow } from '../../../src/live/status.ts';

const row = (name: string, config = '-'): StatusRow => ({ kind: 'Deployment', name, namespace: 'team', container: 'app', devPod: `${name}-1`, phase: 'Ready', since: '-', heldBy: '-', sync: 'idle', config });

describe('status table', () => {
  it('groups by dev config, by name, workloads started alone last, each group in the order given', () => {
    const rows = [row('a'), row('b', 'shop'), row('c', 'blog'), row('d', 'shop'), row('e')];
    expect(byConfig(rows).map((r) => `${r.config}:${r.name}`)).toEqual(['blog:c', 'shop:b', 'shop:d', '-:a', '-:e']);
  });

  it('has a CONFIG column only when some workload came from a dev config', () => {
    expect(formatTable([row('a')]).split('\n')[0]).toMatch(/^KIND\s+NAME/);
    const lines = formatTable([row('a'), row('b', 'shop')]).split('\n');
    expect(lines[0]).toMatch(/^CONFIG\s+KIND\s+NAME/);
    expect(lines[1]).toMatch(/^shop\s+Deployment\s+b\s/);
    expect(lines[2]).toMatch(/^-\s+Deployment\s+a\s/);
  });
});
