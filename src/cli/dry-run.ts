// Prints what --dry-run found would change: JSON-patch operations per object, created objects as YAML.

import { stringify } from 'yaml';
import type { Change } from '../live/start.ts';

export function formatChanges(changes: readonly Change[]): string {
  if (changes.length === 0) return 'no change: the workload is already in dev mode with these settings\n';
  const out: string[] = [];
  for (const change of changes) {
    const where = `${change.ref.kind}/${change.ref.name}${change.ref.namespace ? ` (namespace ${change.ref.namespace})` : ''}`;
    out.push(`${change.action} ${where}`);
    for (const op of change.operations ?? []) {
      const value = 'value' in op ? ` ${JSON.stringify(op.value)}` : '';
      out.push(`  ${op.op} ${op.path}${value}`);
    }
    if (change.object) out.push(stringify(change.object, { lineWidth: 0 }).trimEnd().replace(/^/gm, '  '));
  }
  return `${out.join('\n')}\n`;
}
