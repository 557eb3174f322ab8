import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from './env';

const MAIN = resolve(__dirname, '../../dist/main.js');

export interface Instance {
  id: string;
  port: number;
  url: string;
  process: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves when the output matches. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface InstanceOptions {
  databaseUrl?: string;
  /** false: no REDIS_URL (in-process bus). */
  redis?: boolean;
  /** Isolates this suite's Redis keys and channels from other suites running at the same time. */
  redisPrefix?: string;
  env?: Record<string, string>;
  id?: string;
  cwd?: string;
}

/** A unique Redis namespace for one suite. */
export const uniquePrefix = (label: string): string =>
  `t:${label}:${randomBytes(3).toString('hex')}:`;

/** Starts `node dist/main.js` as a real separate process and waits until it listens. */
export async function startInstance(options: InstanceOptions): Promise<Instance> {
  const id = options.id ?? `inst-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'test',
    NO_COLOR: '1',
    PORT: '0',
    INSTANCE_ID: id,
    JWT_SECRET: TEST_SECRET,
    SERVICE_API_KEY: TEST_API_KEY,
    AUTH_RATE_LIMIT: '0',
    LOG_LEVEL: 'info',
    ...(options.databaseUrl !== undefined ? { DATABASE_URL: options.databaseUrl } : {}),
    ...(options.redis !== false ? { REDIS_URL: REDIS_URL } : {}),
    ...(options.redisPrefix !== undefined ? { REDIS_PREFIX: options.redisPrefix } : {}),
    ...options.env,
  };
  const child = spawn(process.execPath, [MAIN], {
    env,
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8');
    for (const w of waiters) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const waitForOutput = (pattern: RegExp, timeoutMs = 20000): Promise<RegExpMatchArray> =>
    new Promise((resolvePromise, reject) => {
      const check = (): boolean => {
        const match = output.match(pattern);
        if (match) {
          cleanup();
          resolvePromise(match);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `instance ${id} did not print ${String(pattern)} within ${timeoutMs} ms; output:\n${output.slice(-3000)}`,
          ),
        );
      }, timeoutMs);
      const onExit = (): void => {
        if (check()) return;
        cleanup();
        reject(
          new Error(
            `instance ${id} exited before printing ${String(pattern)}; output:\n${output.slice(-3000)}`,
          ),
        );
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
        child.off('exit', onExit);
      };
      if (check()) return;
      waiters.add(check);
      child.once('exit', onExit);
    });

  const match = await waitForOutput(/listening on port (\d+)/);
  const port = Number(match[1]);
  return {
    id,
    port,
    url: `http://127.0.0.1:${port}`,
    process: child,
    output: () => output,
    waitForOutput,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const [code, sig] = await exited;
      return { code, signal: sig };
    },
  };
}

/** Starts several instances at the same moment (they race on migrations and the bus). */
export function startInstances(n: number, options: InstanceOptions): Promise<Instance[]> {
  return Promise.all(
    Array.from({ length: n }, (_, i) =>
      startInstance({ ...options, id: `${options.id ?? 'inst'}-${i + 1}` }),
    ),
  );
}
