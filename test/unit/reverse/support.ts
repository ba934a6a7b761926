// The agent as scripts/agent.ts builds it (dist/agent/, made by npm ci's prepare), for the tests that run it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AGENT_DIR, buildAgent, type AgentManifest } from '../../../scripts/agent.ts';

const HOST_ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

/** This machine's agent: its bytes and sha256 (built here when dist/agent has none). */
export function builtAgent(): { bytes: Buffer; sha256: string; path: string } {
  let manifest: AgentManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(AGENT_DIR, 'manifest.json'), 'utf8')) as AgentManifest;
  } catch {
    manifest = buildAgent();
  }
  const entry = manifest.platforms[`linux-${HOST_ARCH}`]!;
  const file = path.join(AGENT_DIR, entry.file);
  const bytes = fs.readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== entry.sha256) throw new Error(`${file} is not the agent its manifest names: run npm run build:agent`);
  return { bytes, sha256, path: file };
}
