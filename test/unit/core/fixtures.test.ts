// Golden cases: enter(input, options), printed, must be expected.yaml byte for byte (or fail with error.txt),
// exit must give the input back, and entering twice changes nothing.
// A test run never writes a golden: a missing expected.yaml fails; `npm run fixtures:update`
// rewrites them (review the diff).

import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { enter } from '../../../src/core/enter.ts';
import { DevError } from '../../../src/core/errors.ts';
import { exit } from '../../../src/core/exit.ts';
import { printManifests } from '../../../src/core/manifests.ts';
import { fixtureNames, loadFixture } from '../../fixtures.ts';

describe.each(fixtureNames())('fixture %s', (name) => {
  const fixture = loadFixture(name);
  const inputObjects = fixture.input.map((p) => p.object);

  if (fixture.error !== undefined) {
    it('fails with the expected error, code and message', () => {
      let caught: unknown;
      try {
        enter(inputObjects, fixture.options);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(DevError);
      const error = caught as DevError;
      expect(`${error.code}: ${error.message}`).toBe(fixture.error);
      expect(error.hint.length).toBeGreaterThan(10);
      if (error.code !== 'SELECTION_EMPTY') expect(error.where.document).toBeTypeOf('number');
    });
    return;
  }

  it('enters dev mode as expected.yaml says', () => {
    const output = enter(inputObjects, fixture.options);
    expect(existsSync(fixture.expectedPath), `${fixture.expectedPath} is missing: write it with npm run fixtures:update ${name}, and check it by hand`).toBe(true);
    // Bytes, as `start --local` prints them: a golden that only parses alike is not the same output.
    expect(printManifests(output, 'yaml', fixture.input)).toBe(readFileSync(fixture.expectedPath, 'utf8'));
  });

  it('exit restores the input exactly and drops generated objects', () => {
    const output = enter(inputObjects, fixture.options);
    expect(exit(output)).toEqual(inputObjects);
  });

  it('entering again changes nothing', () => {
    const output = enter(inputObjects, fixture.options);
    expect(enter(output, fixture.options)).toEqual(output);
  });

  it('does not modify its input objects', () => {
    const before = structuredClone(inputObjects);
    enter(inputObjects, fixture.options);
    expect(inputObjects).toEqual(before);
  });
});
