// `up` and `down`, the pure parts: which workloads of the dev config they act on and in which
// order, the prefix each one's lines get, forwards two workloads would both listen on, what a
// failure does to the others, and the error the whole command ends with. No I/O here.

import type { DevConfig, WorkloadEntry } from '../config/devconfig.ts';
import type { ForwardSpec } from '../config/forward-spec.ts';
import { DevError } from '../core/errors.ts';
import { parseWorkloadRef } from '../core/kinds.ts';

/** `continue` (default): a failed workload is reported and the others go on; `abort` (`--abort-on-failure`): it stops them all. */
export type FailurePolicy = 'continue' | 'abort';

/**
 * The dev config's workloads `up`/`down` act on, in the file's order: all of them, or those
 * named (KIND/NAME, or the NAME alone), each once. Throws one error naming every unknown name.
 */
export function selectWorkloads(config: DevConfig, names: readonly string[]): WorkloadEntry[] {
  if (config.workloads.length === 0) {
    throw new DevError('INVALID_OPTION', `the dev config ${config.source} has no workloads`, 'list them under workloads: (e.g. deployment/web: {image: node:24}).', { source: config.source });
  }
  if (names.length === 0) return [...config.workloads];
  const chosen = new Set<WorkloadEntry>();
  const unknown: string[] = [];
  for (const name of names) {
    const ref = name.includes('/') ? parseWorkloadRef(name) : undefined;
    const matching = config.workloads.filter((w) => (ref ? w.ref.kind === ref.kind && w.ref.name === ref.name : w.ref.name === name || w.key === name));
    if (matching.length === 0) unknown.push(name);
    for (const entry of matching) chosen.add(entry);
  }
  if (unknown.length > 0) {
    throw new DevError('INVALID_OPTION', `not in the dev config ${config.source}: ${unknown.join(', ')}`,
      `name workloads it has (${config.workloads.map((w) => w.key).join(', ')}), as KIND/NAME or NAME, or none for all of them.`, { source: config.source });
  }
  return config.workloads.filter((w) => chosen.has(w));
}

export interface Named {
  kind: string;
  name: string;
  namespace: string;
}

/**
 * The label each workload's lines are prefixed with (`[reviews] …`): its name; `kind/name` where
 * two share a name; `namespace/kind/name` where those are shared too.
 */
export function labelsFor(workloads: readonly Named[]): string[] {
  const count = (key: (w: Named) => string) => {
    const counts = new Map<string, number>();
    for (const w of workloads) counts.set(key(w), (counts.get(key(w)) ?? 0) + 1);
    return (w: Named) => counts.get(key(w))!;
  };
  const byName = count((w) => w.name);
  const byKindName = count((w) => `${w.kind}/${w.name}`);
  return workloads.map((w) => {
    if (byName(w) === 1) return w.name;
    const kindName = `${w.kind.toLowerCase()}/${w.name}`;
    return byKindName(w) === 1 ? kindName : `${w.namespace}/${kindName}`;
  });
}

/** `[reviews] ` */
export const prefixOf = (label: string): string => `[${label}] `;

/** Fixed local ports that two workloads both forward (one process listens once per port): an error naming each, or undefined. */
export function localPortClashes(forwards: ReadonlyArray<{ label: string; specs: readonly ForwardSpec[] }>): DevError | undefined {
  const owners = new Map<number, string[]>();
  for (const { label, specs } of forwards) {
    for (const spec of specs) {
      if (spec.local === 0) continue;
      const list = owners.get(spec.local) ?? [];
      if (!list.includes(label)) list.push(label);
      owners.set(spec.local, list);
    }
  }
  const clashes = [...owners].filter(([, labels]) => labels.length > 1);
  if (clashes.length === 0) return undefined;
  return new DevError('INVALID_OPTION', `the same local port is forwarded for several workloads: ${clashes.map(([port, labels]) => `${port} (${labels.join(', ')})`).join('; ')}`,
    'give each workload its own local port in forward: (LOCAL:REMOTE), or :REMOTE for a free one.');
}

/** What became of one workload. */
export interface Outcome {
  label: string;
  error?: DevError;
}

/** Whether this failure stops the workloads still going. */
export function stopsOthers(policy: FailurePolicy, failed: Outcome): boolean {
  return policy === 'abort' && failed.error !== undefined;
}

/**
 * The error `up`/`down` end with: none when nothing failed; the failure itself when one workload
 * was all; else one naming each failed workload, with the first one's code (its exit code).
 */
export function overallError(command: string, outcomes: readonly Outcome[]): DevError | undefined {
  const failed = outcomes.filter((o) => o.error);
  const first = failed[0];
  if (!first?.error) return undefined;
  if (outcomes.length === 1) return first.error;
  return new DevError(first.error.code, `${command}: ${failed.length} of ${outcomes.length} workloads failed: ${failed.map((o) => `[${o.label}] ${o.error!.message}`).join('; ')}`,
    failed.map((o) => `[${o.label}] ${o.error!.hint}`).join(' '));
}

/** A plain table (the columns of `status`'s): a header, then one line per row, columns padded. */
export function formatColumns(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const table = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...table.map((line) => (line[i] ?? '').length)));
  return `${table.map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ')).join('\n')}\n`;
}
