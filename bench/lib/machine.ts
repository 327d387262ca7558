import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';

/** What a figure was measured on, and how busy the machine was while it ran. */
export interface MachineInfo {
  cpu_model: string;
  cores: number;
  memory_gib: number;
  node: string;
  load_avg_1_5_15: number[];
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    cpu_model: c[0]?.model ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    load_avg_1_5_15: loadavg().map((x) => Math.round(x * 100) / 100),
  };
}

/** Resident set size of a process in MiB (Linux /proc), or undefined when it is gone. */
export function rssMiB(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}
