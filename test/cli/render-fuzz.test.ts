// Fuzz through the real CLI: a slice of the seeded inputs of test/unit/render/fuzz.ts
// (including raw bytes that are not UTF-8). Exit 0, 2 or 3 only; no stack trace; a
// failed stream render prints nothing on stdout.

import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { generateCases } from '../unit/render/fuzz.ts';
import { run, NODE } from './render-support.ts';
import { BIN } from './run-cli.ts';

const all = generateCases(1000);
// Every 40th case, plus the byte-level ones: 25 + a few processes.
const slice = all.filter((c, i) => i % 40 === 0 || (typeof c.input !== 'string' && i % 5 === 0)).slice(0, 40);

describe('kubectl-dev render fuzz (through the CLI)', () => {
  it.each(slice.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const args = ['render', ...c.selects.flatMap((s) => ['--select', s])];
    if (c.settings.image) args.push('--image', c.settings.image);
    if (c.settings.workdir) args.push('--workdir', c.settings.workdir);
    if (c.settings.container) args.push('-c', c.settings.container);
    const r = run(NODE, [BIN, ...args], { input: c.input, env: { ...process.env, NO_COLOR: '1' } });
    expect([0, 2, 3]).toContain(r.code);
    expect(r.stderr).not.toMatch(/\n\s+at |node:internal|\.cjs:\d+/);
    if (r.code !== 0) {
      expect(r.stderr).toMatch(/^(warning: .*\n)*error: /);
      if (r.stdout !== '') {
        // Only a failed KRM function answers, with one whole ResourceList.
        const docs = parseAllDocuments(r.stdout) as unknown[];
        expect(docs).toHaveLength(1);
        expect(r.stdout).toContain('kind: ResourceList');
        expect(r.stdout).toContain('severity: error');
      }
    }
  });
});
