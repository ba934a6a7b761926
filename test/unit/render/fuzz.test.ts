// Fuzz, in-process: 1,000 generated or mutated inputs (seeded, deterministic) through
// render. No crash (only DevErrors), no stack trace in any message, no partial
// output: a failed stream render prints nothing; a failed KRM function prints one
// whole ResourceList with the error in results.

import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { DevError } from '../../../src/core/errors.ts';
import { parseWorkloadRef } from '../../../src/core/kinds.ts';
import { render, type RenderOptions } from '../../../src/render/index.ts';
import { generateCases, type FuzzCase } from './fuzz.ts';

const STACK = /\n\s+at |\.ts:\d+|node:internal/;

function optionsOf(c: FuzzCase): RenderOptions | undefined {
  try {
    return { selects: c.selects.map((s) => parseWorkloadRef(s)), settings: c.settings };
  } catch {
    return undefined;
  }
}

describe('render fuzz (1,000 inputs, seeded)', () => {
  const cases = generateCases(1000);
  const tally = { ok: 0, failed: 0, krmFailed: 0 };

  it('generates 1,000 distinct inputs, the same ones every run', () => {
    expect(cases).toHaveLength(1000);
    expect(new Set(cases.map((c) => (typeof c.input === 'string' ? c.input : c.input.toString('latin1')))).size).toBeGreaterThan(750);
    expect(generateCases(5).map((c) => c.name)).toEqual(cases.slice(0, 5).map((c) => c.name));
  });

  it('never crashes, never leaks a stack trace, never prints partial output', { timeout: 120_000 }, () => {
    for (const c of cases) {
      const options = optionsOf(c);
      if (!options) continue;
      const text = typeof c.input === 'string' ? c.input : c.input.toString('utf8');
      let outcome;
      try {
        outcome = render(text, options);
      } catch (error) {
        throw new Error(`${c.name}: render threw ${String(error)}\n${(error as Error).stack}`);
      }
      if (outcome.error) {
        const error = outcome.error;
        expect(error, c.name).toBeInstanceOf(DevError);
        expect(error.message.length, c.name).toBeGreaterThan(0);
        expect(error.hint.length, c.name).toBeGreaterThan(0);
        expect(`${error.message} ${error.hint}`, c.name).not.toMatch(STACK);
        if (outcome.stdout === '') {
          tally.failed++;
        } else {
          // A KRM function that failed answers with its whole ResourceList, error in results.
          expect(outcome.mode, c.name).toBe('krm');
          const docs = parseAllDocuments(outcome.stdout);
          expect(Array.isArray(docs) ? docs.length : 0, c.name).toBe(1);
          const rl = (docs as ReturnType<typeof parseAllDocuments> & unknown[])[0]!.toJS() as { kind: string; results: { severity: string }[] };
          expect(rl.kind, c.name).toBe('ResourceList');
          expect(rl.results.some((r) => r.severity === 'error'), c.name).toBe(true);
          tally.krmFailed++;
        }
      } else {
        // Success: rendering is deterministic, and the output renders to itself (what
        // render printed reads back and is in dev mode; everything else is the input's text).
        expect(render(text, options).stdout, c.name).toBe(outcome.stdout);
        if (outcome.mode === 'stream') {
          const again = render(outcome.stdout, options);
          expect(again.error?.message, c.name).toBeUndefined();
          expect(again.stdout, c.name).toBe(outcome.stdout);
        }
        for (const w of outcome.warnings) expect(w, c.name).not.toMatch(STACK);
        tally.ok++;
      }
    }
    // The generator reaches both sides.
    console.log(`render fuzz: ${tally.ok} rendered, ${tally.failed} refused, ${tally.krmFailed} KRM failures answered with results`);
    expect(tally.ok).toBeGreaterThan(50);
    expect(tally.failed).toBeGreaterThan(150);
    expect(tally.krmFailed).toBeGreaterThan(5);
  });
});
