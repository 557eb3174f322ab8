/**
 * Where processes run. Servers under measurement share the first core, the load client (this
 * process) takes the second, so a server never competes with the client that drives it. Postgres
 * and Redis are the machine's own services and are left where the OS schedules them.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const multiCore = cpus().length >= 2;
export const SERVER_CORES = '0';
export const CLIENT_CORES = multiCore ? '1' : '0';

/**
 * Pins the calling process (the load client) to the client core: every thread of it (`-a`). V8's
 * and libuv's threads exist before this runs and would otherwise stay free to run on the
 * servers' core; a scheduler sample showed the client's GC threads taking it during steps.
 */
export function pinLoadClient(): void {
  execFileSync('taskset', ['-apc', CLIENT_CORES, String(process.pid)], { stdio: 'ignore' });
}

export interface Machine {
  cpus: number;
  model: string;
  memoryGiB: number;
  node: string;
  serverCores: string;
  clientCores: string;
}

export function machine(): Machine {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    serverCores: SERVER_CORES,
    clientCores: CLIENT_CORES,
  };
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/**
 * User + system CPU seconds used so far by every PostgreSQL and Redis process on the machine
 * (the service's dependencies, shared by whatever runs): read before and after a step, the
 * difference is what the step cost them. Processes that exit in between take their share along,
 * so a step should not open or close database connections.
 */
export function dependencyCpuSeconds(
  names: readonly string[] = ['postgres', 'redis-server'],
): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (!names.includes(name)) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks / CLOCK_TICKS;
}
