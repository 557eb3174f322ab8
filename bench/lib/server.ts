/**
 * Servers under measurement: the service (`dist/main.js`) or a bare peer, each a separate Node
 * process pinned to the server core with `taskset`, with the same memory probe preloaded. CPU
 * time is read from /proc so every server is measured the same way, from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from '../../test/helpers/env';
import { SERVER_CORES } from './machine';

const ROOT = resolve(__dirname, '../..');
const PROBE = join(__dirname, 'mem-probe.cjs');
const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface Mem {
  rss: number;
  heapUsed: number;
}

export interface Server {
  name: string;
  pid: number;
  port: number;
  url: string;
  /** User + system CPU seconds the process has used so far. */
  cpuSeconds(): number;
  /** RSS and V8 heap after a full GC. */
  mem(): Promise<Mem>;
  stop(): Promise<void>;
}

interface StartOptions {
  name: string;
  /** Flags for `node` itself, before the script. */
  nodeFlags?: string[];
  /** Script and arguments after `node`; a .ts script runs through tsx. */
  args: string[];
  env?: Record<string, string>;
}

/** Servers still running: killed if the bench process dies, so none lingers to skew the next run. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

async function start(options: StartOptions): Promise<Server> {
  const ts = options.args[0]?.endsWith('.ts') === true;
  // BENCH_PROFILE_DIR: every server writes a V8 CPU profile there on exit, to see where time goes.
  const profile = process.env.BENCH_PROFILE_DIR;
  const nodeArgs = [
    // Every server (ours and the peers) shares the one server core: V8's GC helper threads
    // cannot run beside the main thread there, only preempt it (a concurrent mark-compact took
    // the core from the main thread for 100+ ms), so the GC runs on the main thread, as
    // docs/deployment.md advises for any process given one core.
    ...(SERVER_CORES.includes(',') || SERVER_CORES.includes('-') ? [] : ['--single-threaded-gc']),
    ...(options.nodeFlags ?? []),
    '--expose-gc',
    '-r',
    PROBE,
    ...(profile !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : []),
    ...(ts ? ['--import', 'tsx'] : []),
    ...options.args,
  ];
  const child: ChildProcess = spawn(
    'taskset',
    ['-c', SERVER_CORES, process.execPath, ...nodeArgs],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name}: could not spawn`);
  running.add(child);
  child.once('exit', () => running.delete(child));
  let buffered = '';
  const memWaiters: ((m: Mem) => void)[] = [];
  let portResolve: (port: number) => void = () => undefined;
  const portPromise = new Promise<number>((r) => (portResolve = r));
  const recent: string[] = [];
  // BENCH_SERVER_LOG=/tmp/x: everything a server prints goes to /tmp/x.<pid>.log too (GC traces).
  const serverLog = process.env.BENCH_SERVER_LOG;
  const onLine = (line: string): void => {
    recent.push(line);
    if (recent.length > 30) recent.shift();
    const port = /listening on port (\d+)/.exec(line);
    if (port) portResolve(Number(port[1]));
    if (line.startsWith('BENCH_MEM ')) memWaiters.shift()?.(JSON.parse(line.slice(10)) as Mem);
    if (/"level":(50|60)|Error/.test(line) && !line.startsWith('BENCH_'))
      process.stderr.write(`[${options.name}] ${line}\n`);
  };
  const onData = (chunk: Buffer): void => {
    if (serverLog !== undefined) appendFileSync(`${serverLog}.${pid}.log`, chunk);
    buffered += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit');
  const port = await Promise.race([
    portPromise,
    exited.then(() => {
      throw new Error(`${options.name} exited before listening:\n${recent.join('\n')}`);
    }),
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${options.name} did not listen within 30 s`)),
        30_000,
      ).unref(),
    ),
  ]);
  return {
    name: options.name,
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    cpuSeconds: () => {
      // /proc/<pid>/stat: fields after the ")" of the command name; utime and stime are 14 and 15.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    },
    mem: () =>
      new Promise<Mem>((r) => {
        memWaiters.push(r);
        child.kill('SIGUSR2');
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Node and V8 flags from a space-separated environment variable (none when unset). */
const flagsFrom = (name: string): string[] =>
  (process.env[name] ?? '').split(' ').filter((f) => f !== '');

export interface ServiceOptions {
  name: string;
  databaseUrl: string;
  redisPrefix: string;
  env?: Record<string, string>;
}

/** One instance of the service, configured for load: no per-user caps or rate limits in the way. */
export function startService(options: ServiceOptions): Promise<Server> {
  return start({
    name: options.name,
    // For experiments: BENCH_SERVICE_NODE_FLAGS='--flag --other' (V8 and Node flags, measured).
    nodeFlags: flagsFrom('BENCH_SERVICE_NODE_FLAGS'),
    args: ['dist/main.js'],
    env: {
      PORT: '0',
      INSTANCE_ID: options.name,
      JWT_SECRET: TEST_SECRET,
      SERVICE_API_KEY: TEST_API_KEY,
      DATABASE_URL: options.databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: options.redisPrefix,
      AUTH_RATE_LIMIT: '0',
      RATE_LIMIT_MESSAGES: '1000000',
      MAX_CONNECTIONS_PER_USER: '10000',
      STOCK_FEED: 'external',
      // As shipped: info logs a line per HTTP request, which is part of what a request costs.
      LOG_LEVEL: 'info',
      ...options.env,
      // For experiments only (a setting's effect, measured): BENCH_SERVICE_ENV='{"NAME":"value"}'.
      ...(JSON.parse(process.env.BENCH_SERVICE_ENV ?? '{}') as Record<string, string>),
    },
  });
}

/** Starts and stops one instance, so that its migrations have made the tables a seed needs. */
export async function applyMigrations(databaseUrl: string, label: string): Promise<void> {
  await (
    await startService({
      name: `bench-${label}-migrate`,
      databaseUrl,
      redisPrefix: `bench:${label}:m:`,
    })
  ).stop();
}

/** A bare peer from bench/peers, started the same way. */
export function startPeer(
  name: string,
  script: string,
  env: Record<string, string> = {},
): Promise<Server> {
  return start({
    name,
    // For experiments: BENCH_PEER_NODE_FLAGS='--flag' gives every peer the same flags.
    nodeFlags: flagsFrom('BENCH_PEER_NODE_FLAGS'),
    args: [join('bench', 'peers', script)],
    env: { PORT: '0', ...env },
  });
}

/** Runs `fn` with a started server and stops the server however `fn` ends. */
export async function withServer<T>(
  starting: Promise<Server>,
  fn: (server: Server) => Promise<T>,
): Promise<T> {
  const server = await starting;
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}
