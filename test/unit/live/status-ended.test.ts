// `kubectl dev status` lists, for a day, workloads whose sync session ended itself because they left dev mode (issue 16).
import { describe, expect, it } from 'vitest';
import { ENDED_SHOWN_MS, withEndedSessions, type StatusRow } from '../../../src/live/status.ts';

describe('status rows for sessions that ended themselves', () => {
  const row = (name: string, sync = 'idle'): StatusRow => ({ kind: 'Deployment', name, namespace: 'team', container: 'app', devPod: `${name}-1`, phase: 'Ready', since: '-', heldBy: '-', sync, config: '-' });
  const now = Date.parse('2026-12-02T12:00:00Z');
  const ended = (name: string, at: string, cause: 'deleted' | 'left-dev-mode' = 'left-dev-mode') =>
    ({ kind: 'Deployment', name, namespace: 'team', cause, reason: `deployment/${name} left dev mode (kubectl dev end elsewhere?)`, at });

  it('adds a row for an ended workload that is not listed, sorted with the others, for a day', () => {
    const rows = withEndedSessions([row('web'), row('zeta')], [ended('app', '2026-12-02T11:59:00Z'), ended('old', new Date(now - ENDED_SHOWN_MS - 1).toISOString()), ended('gone', '2026-12-02T11:00:00Z', 'deleted')], now);
    expect(rows.map((r) => r.name)).toEqual(['app', 'gone', 'web', 'zeta']);
    expect(rows[0]).toEqual({ kind: 'Deployment', name: 'app', namespace: 'team', container: '-', devPod: '-', phase: 'NotInDevMode', since: '-', heldBy: '-', sync: 'ended: deployment/app left dev mode (kubectl dev end elsewhere?)', config: '-' });
    expect(rows[1]!.phase).toBe('Deleted');
  });

  it('a workload listed (in dev mode again) keeps its own row', () => {
    expect(withEndedSessions([row('web', 'ended: x')], [ended('web', '2026-12-02T11:59:00Z')], now)).toEqual([row('web', 'ended: x')]);
  });
});
