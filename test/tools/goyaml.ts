// The Go YAML reader of the differential tests: test/tools/goyaml (apimachinery's
// YAMLOrJSONDecoder over sigs.k8s.io/yaml, as kubectl and Helm read manifests).
// Built once with `go build` into the test cache (<cache>/bin/goyaml-<hash of its
// sources>, outside the repository), then reused; $GOYAML points at a built binary instead.
//
//   node test/tools/goyaml.ts     builds it and prints its path (for .ci/run)

import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cacheDir } from '../cluster/build.lib.ts';

const SOURCE = path.join(import.meta.dirname, 'goyaml');

function sourceHash(): string {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(fs.readFileSync(path.join(SOURCE, file)));
  return hash.digest('hex').slice(0, 12);
}

/** The path of the goyaml binary, building it the first time. */
export function goyamlBinary(): string {
  if (process.env.GOYAML) return process.env.GOYAML;
  const out = path.join(cacheDir(), 'bin', `goyaml-${sourceHash()}`);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync('go', ['build', '-trimpath', '-o', tmp, '.'], {
    cwd: SOURCE,
    env: { ...process.env, GOFLAGS: `${process.env.GOFLAGS ?? ''} -buildvcs=false`.trim(), CGO_ENABLED: '0' },
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 10 * 60_000,
  });
  fs.renameSync(tmp, out); // atomic: parallel test files may race here
  return out;
}

export type GoReading = { docs: unknown[]; error?: undefined } | { docs?: undefined; error: string };

/**
 * What kubectl reads from each stream: the JSON of every document (numbers kept as
 * their JSON text in `raw`), or the decoder's error.
 */
export function goRead(streams: readonly string[]): { raw: string; reading: GoReading }[] {
  const r = spawnSync(goyamlBinary(), [], { input: JSON.stringify(streams), encoding: 'utf8', maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`goyaml failed (${r.status}): ${r.stderr}`);
  const texts = splitTopLevel(r.stdout.trim());
  return texts.map((raw) => ({ raw, reading: JSON.parse(raw) as GoReading }));
}

/** The elements of a JSON array as their source texts (so numbers can be read exactly by the caller). */
function splitTopLevel(json: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth === 1 && start < 0) start = i;
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 1 && start >= 0) {
        out.push(json.slice(start, i + 1));
        start = -1;
      }
    }
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(goyamlBinary());
}
