// A process's CPU seconds and memory, read from /proc (Linux): what `ps` and the kubelet see, not
// what the process says of itself.
import { readFile } from 'node:fs/promises';
import { type ProcessMemory, parseProcStatus } from './metrics-text.ts';

export interface ProcessFigures extends ProcessMemory {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
}

/** utime + stime of a /proc/<pid>/stat text, in seconds (clock ticks of 1/100 s, as on Linux). */
export function parseProcStatCpu(text: string): number {
  // The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export async function processFigures(pid: number): Promise<ProcessFigures> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  return { cpuSeconds: parseProcStatCpu(stat), ...parseProcStatus(status) };
}
