// What the kernel says about a server process: CPU time used and peak resident memory, read from /proc/<pid>
// (Linux only), so both servers are measured from outside in exactly the same way.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

/** Clock ticks per second of /proc's CPU counters (`getconf CLK_TCK`, 100 on Linux in practice). */
function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
    ticksPerSecond = /^\d+$/.test(text) ? Number(text) : 100;
  }
  return ticksPerSecond;
}

/** User + system CPU time the process has used so far, in milliseconds (proc(5): utime and stime of /proc/PID/stat). */
export function cpuMilliseconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times from /proc/${pid}/stat`);
  return ((utime + stime) * 1000) / clockTicksPerSecond();
}

/** A field of /proc/PID/status in MiB, e.g. `VmHWM` (peak resident set size) or `VmRSS` (resident now). */
export function statusMiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

/**
 * Resets the process's peak resident set size to its current one (proc(5): writing 5 to clear_refs, Linux 4.0+),
 * so that VmHWM afterwards is the peak of the phase that follows. Returns false where the kernel refuses.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
