// `npm run fixtures:update`: rewrites fixtures/<case>/expected.yaml from what `enter` gives now.
// A separate, deliberate command (tests never write goldens): review the diff before committing.

import { writeFileSync } from 'node:fs';
import { enter } from '../src/core/enter.ts';
import { printManifests } from '../src/core/manifests.ts';
import { fixtureNames, loadFixture } from '../test/fixtures.ts';

const only = process.argv.slice(2);
for (const name of fixtureNames()) {
  if (only.length > 0 && !only.includes(name)) continue;
  const fixture = loadFixture(name);
  if (fixture.error !== undefined) continue;
  const output = enter(fixture.input.map((p) => p.object), fixture.options);
  writeFileSync(fixture.expectedPath, printManifests(output, 'yaml', fixture.input));
  process.stdout.write(`${fixture.expectedPath}\n`);
}
