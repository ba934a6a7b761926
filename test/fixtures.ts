// Loads the golden cases in fixtures/<case>/: input.yaml, options.yaml, and either
// expected.yaml or error.txt. Shared by the core's golden test and the live-mode tests.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { EnterOptions } from '../src/core/enter.ts';
import { parseWorkloadRef } from '../src/core/kinds.ts';
import { parseManifests, type ParsedObject } from '../src/core/manifests.ts';

export const FIXTURES_DIR = join(import.meta.dirname, '..', 'fixtures');

export interface FixtureCase {
  name: string;
  dir: string;
  input: ParsedObject[];
  inputText: string;
  options: EnterOptions;
  /** Expected output, when the case succeeds. */
  expectedPath: string;
  /** `CODE: message` when the case must fail. */
  error?: string;
}

interface OptionsFile {
  settings?: EnterOptions['settings'];
  targets?: string[];
  now?: string;
  force?: boolean;
}

export function loadFixture(name: string): FixtureCase {
  const dir = join(FIXTURES_DIR, name);
  const inputText = readFileSync(join(dir, 'input.yaml'), 'utf8');
  const file = (parse(readFileSync(join(dir, 'options.yaml'), 'utf8')) ?? {}) as OptionsFile;
  const options: EnterOptions = {};
  if (file.settings) options.settings = file.settings;
  if (file.targets) options.targets = file.targets.map((t) => parseWorkloadRef(t));
  if (file.now) options.now = file.now;
  if (file.force) options.force = true;
  const errorPath = join(dir, 'error.txt');
  const fixture: FixtureCase = {
    name, dir, inputText, options,
    input: parseManifests(inputText, join('fixtures', name, 'input.yaml')),
    expectedPath: join(dir, 'expected.yaml'),
  };
  if (existsSync(errorPath)) fixture.error = readFileSync(errorPath, 'utf8').trim();
  return fixture;
}

export function fixtureNames(): string[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
}
