/**
 * Where processes run. Servers under measurement share the first core, the load client (this
 * process) takes the second, so a server never competes with the client that drives it. Postgres
 * and Redis are the machine's own services and are left where the OS schedules them.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

const multiCore = cpus().length >= 2;
export const SERVER_CORES = '0';
export const CLIENT_CORES = multiCore ? '1' : '0';

/** Pins the calling process (the load client) to the client core. */
export function pinLoadClient(): void {
  execFileSync('taskset', ['-pc', CLIENT_CORES, String(process.pid)], { stdio: 'ignore' });
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
