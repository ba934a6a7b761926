// The reverse-forward agent this kubectl-dev carries (agent/, built by scripts/agent.ts for
// linux-amd64 and linux-arm64): SEA assets `agent-linux-<arch>` and `agent.json` in the single
// binary, dist/agent/ (manifest.json and the executables) in the npm package and a checkout.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as sea from 'node:sea';
import { DevError } from '../core/errors.ts';
import { packageRoot, programFiles } from '../sync/binary.ts';

export interface AgentBinary {
  /** GOARCH: amd64, arm64. */
  arch: string;
  sha256: string;
  bytes(): Buffer;
}

interface Manifest {
  platforms: Record<string, { file: string; sha256: string; size: number }>;
}

/** What `uname -m` (or a node's status.nodeInfo.architecture) says, as GOARCH; undefined for one the agent is not built for. */
export function goArch(machine: string): string | undefined {
  const m = machine.trim().toLowerCase();
  if (m === 'x86_64' || m === 'amd64') return 'amd64';
  if (m === 'aarch64' || m === 'arm64' || m === 'armv8l' || m === 'aarch64_be') return m === 'aarch64_be' ? undefined : 'arm64';
  return undefined;
}

function fromSea(arch: string): AgentBinary | undefined {
  try {
    const manifest = JSON.parse(Buffer.from(sea.getRawAsset('agent.json') as ArrayBuffer).toString('utf8')) as Manifest;
    const entry = manifest.platforms[`linux-${arch}`];
    if (!entry) return undefined;
    return { arch, sha256: entry.sha256, bytes: () => Buffer.from(sea.getRawAsset(`agent-linux-${arch}`) as ArrayBuffer) };
  } catch {
    return undefined;
  }
}

function fromPackage(arch: string): AgentBinary | undefined {
  for (const file of programFiles()) {
    const root = packageRoot(dirname(file));
    if (root === undefined) continue;
    const dir = join(root, 'dist', 'agent');
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;
    } catch {
      continue;
    }
    const entry = manifest.platforms[`linux-${arch}`];
    if (!entry) return undefined;
    return { arch, sha256: entry.sha256, bytes: () => readFileSync(join(dir, entry.file)) };
  }
  return undefined;
}

/** The agent for `arch` (GOARCH); throws REVERSE_UNAVAILABLE when this kubectl-dev carries none for it. */
export function agentFor(arch: string, machine: string): AgentBinary {
  const agent = sea.isSea() ? fromSea(arch) : fromPackage(arch);
  if (!agent) {
    throw new DevError('REVERSE_UNAVAILABLE', `this kubectl-dev carries no reverse-forward agent for linux-${arch} (the dev pod's node is ${machine})`,
      'a checkout builds it with npm run build:agent (needs Go); the single binaries and the npm package carry linux-amd64 and linux-arm64.');
  }
  return agent;
}
