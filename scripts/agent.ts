// The reverse-forward agent kubectl-dev copies into the dev pod's sync sidecar (agent/, its own
// Go module, standard library only): built for each Linux architecture a node may have, static
// (CGO_ENABLED=0), -trimpath, stripped, into dist/agent/ with manifest.json ({ platforms:
// { 'linux-amd64': { file, sha256, size } } }), which the npm package carries and the single
// binaries take as assets (scripts/build-binary.ts). Go's build cache makes a rebuild ~1 s.
//
//   node scripts/agent.ts            build both into dist/agent (npm ci's prepare, prepack, .ci/run)
//   node scripts/agent.ts --test     go test ./... in agent/ (also run by test/unit/reverse/agent-go.test.ts)

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
export const AGENT_SOURCE = path.join(ROOT, 'agent');
export const AGENT_DIR = path.join(ROOT, 'dist', 'agent');
/** GOARCH names, as the manifest keys them (linux-<GOARCH>). */
export const AGENT_ARCHES = ['amd64', 'arm64'] as const;

export interface AgentManifest {
  platforms: Record<string, { file: string; sha256: string; size: number }>;
}

const goEnv = (extra: Record<string, string>) => ({ ...process.env, GOFLAGS: '-mod=mod -buildvcs=false', GOWORK: 'off', CGO_ENABLED: '0', ...extra });

/** Builds the agent for every architecture into `dir`; returns the manifest written there. */
export function buildAgent(dir = AGENT_DIR): AgentManifest {
  fs.mkdirSync(dir, { recursive: true });
  const manifest: AgentManifest = { platforms: {} };
  for (const arch of AGENT_ARCHES) {
    const file = `kubectl-dev-agent-linux-${arch}`;
    const out = path.join(dir, file);
    const tmp = `${out}.${process.pid}.tmp`;
    execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', tmp, '.'], {
      cwd: AGENT_SOURCE, stdio: ['ignore', 'inherit', 'inherit'], timeout: 10 * 60_000, env: goEnv({ GOOS: 'linux', GOARCH: arch }),
    });
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, out);
    const bytes = fs.readFileSync(out);
    manifest.platforms[`linux-${arch}`] = { file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** The agent's own tests (go test), output and status. */
export function testAgent(): { status: number | null; output: string } {
  const r = spawnSync('go', ['test', '-count=1', './...'], { cwd: AGENT_SOURCE, encoding: 'utf8', timeout: 10 * 60_000, env: goEnv({}) });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

if (import.meta.main) {
  if (process.argv[2] === '--test') {
    const r = testAgent();
    process.stdout.write(r.output);
    process.exit(r.status ?? 1);
  }
  if (spawnSync('go', ['version']).status !== 0) {
    process.stderr.write('agent: Go is not installed, so this checkout has no reverse-forward agent (-R/--reverse refuses); install Go, then node scripts/agent.ts\n');
  } else {
    const m = buildAgent();
    process.stderr.write(`agent: ${Object.entries(m.platforms).map(([p, e]) => `${p} (${(e.size / 1e6).toFixed(1)} MB)`).join(', ')} in dist/agent\n`);
  }
}
