// Where the machine's CPU went while a bench phase ran, by process: read from /proc (Linux) before and after.
// A latency measured on a saturated machine says more about its run queue than about the code; this says who
// filled it (the Temporal server, PostgreSQL, the process under test, the load generator).
import { readdirSync, readFileSync } from 'node:fs';

/** CPU time (user + system, in clock ticks) of every process now, by PID, with its command name. */
function processTicks(): Map<number, { comm: string; ticks: number }> {
  const out = new Map<number, { comm: string; ticks: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    // pid (comm) state ppid ... utime(14) stime(15): comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const fields = stat.slice(close + 2).split(' ');
    out.set(Number(entry), { comm: stat.slice(stat.indexOf('(') + 1, close), ticks: Number(fields[11]) + Number(fields[12]) });
  }
  return out;
}

/** Busy and total ticks of the whole machine (all cores), from /proc/stat's first line. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

export interface MachineCpu {
  /** Share of one core, in percent, by group, over the phase. */
  byGroup: Array<[string, number]>;
  /** Share of the whole machine busy, in percent. */
  machineBusy: number;
}

/**
 * Starts measuring; the returned function ends the measurement. `groups` names PIDs (this process, a child);
 * every other process is grouped by its command name (`temporal`, `postgres`, ...); exited processes are not
 * counted, so a phase's short-lived helpers may be missing.
 */
export function measureMachineCpu(): (groups: Record<string, number | undefined>) => MachineCpu {
  const before = processTicks();
  const machineBefore = machineTicks();
  const startedAt = process.hrtime.bigint();
  return (groups) => {
    const after = processTicks();
    const machineAfter = machineTicks();
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    const named = new Map<number, string>(Object.entries(groups).flatMap(([name, pid]) => (pid === undefined ? [] : [[pid, name] as [number, string]])));
    const sums = new Map<string, number>();
    for (const [pid, now] of after) {
      const spent = now.ticks - (before.get(pid)?.ticks ?? 0);
      if (spent <= 0) continue;
      const group = named.get(pid) ?? now.comm;
      sums.set(group, (sums.get(group) ?? 0) + spent);
    }
    // Clock ticks are 100 a second on Linux (USER_HZ).
    const byGroup = [...sums].map(([group, ticks]) => [group, (ticks / 100 / seconds) * 100] as [string, number]).sort((a, b) => b[1] - a[1]);
    const total = machineAfter.total - machineBefore.total;
    return { byGroup, machineBusy: total > 0 ? ((machineAfter.busy - machineBefore.busy) / total) * 100 : NaN };
  };
}

/** "temporal 70%, API 56%, postgres 22%, ... (machine 88% busy)": the groups above `minPercent`. */
export function describeMachineCpu(cpu: MachineCpu, minPercent = 2): string {
  const shown = cpu.byGroup.filter(([, percent]) => percent >= minPercent).map(([group, percent]) => `${group} ${percent.toFixed(0)}%`);
  return `${shown.join(', ')} of a core (machine ${cpu.machineBusy.toFixed(0)}% busy)`;
}
