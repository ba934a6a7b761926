// CPU seconds per process group over a benchmark's run, sampled from /proc every 100 ms (Linux): a
// process that ends during the run (an exec's dd | tar) is counted up to its last sample.
import * as fs from 'node:fs';

/** CPU seconds (user + system) per process group over a run, from /proc (Linux). */
export function cpuSampler(groups: Record<string, (comm: string, cmd: string) => boolean>): { stop(): Record<string, number>; profile(stepMs: number): string[] } {
  const tick = 100; // USER_HZ
  const first = new Map<number, number>();
  const last = new Map<number, { group: string; cpu: number }>();
  let initial = true;
  const t0 = performance.now();
  /** Per sample: ms since start, and each group's CPU seconds so far. */
  const history: Array<{ ms: number; totals: Record<string, number> }> = [];
  const totals = () => {
    const out: Record<string, number> = {};
    for (const [pid, { group, cpu }] of last) out[group] = (out[group] ?? 0) + cpu - (first.get(pid) ?? 0);
    return out;
  };
  const sample = () => {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cpu = (Number(fields[11]) + Number(fields[12])) / tick;
        let group = last.get(pid)?.group;
        if (group === undefined) {
          const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
          group = Object.entries(groups).find(([, match]) => match(comm, cmd))?.[0] ?? '';
          // A process born during the run counts from zero.
          first.set(pid, initial ? cpu : 0);
        }
        if (group) last.set(pid, { group, cpu });
      } catch {
        /* gone */
      }
    }
    history.push({ ms: performance.now() - t0, totals: totals() });
  };
  sample();
  initial = false;
  const timer = setInterval(sample, 100);
  return {
    stop: () => {
      clearInterval(timer);
      sample();
      return totals();
    },
    // CPU per group in each step of the run (per cent of one core; USER_HZ is 100, so short steps are coarse).
    profile: (stepMs) => {
      const names = [...new Set(history.flatMap((h) => Object.keys(h.totals)))].sort();
      const rows = [`  step     ${names.map((n) => n.slice(0, 10).padStart(10)).join(' ')}`];
      let prev = history[0]!;
      for (let at = stepMs; prev !== history[history.length - 1]; at += stepMs) {
        const next = history.find((h) => h.ms >= at) ?? history[history.length - 1]!;
        const span = (next.ms - prev.ms) / 1000;
        if (span > 0) rows.push(`  ${(prev.ms / 1000).toFixed(2).padStart(5)} s  ${names.map((n) => `${Math.round(((next.totals[n] ?? 0) - (prev.totals[n] ?? 0)) / span * 100)}%`.padStart(10)).join(' ')}`);
        prev = next;
      }
      return rows;
    },
  };
}
