import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startInstances, type Instance, type InstanceOptions } from './instance';

export const NGINX_CONF = resolve(__dirname, '../../deploy/nginx.conf');

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  return port;
}

/** The instance list deploy/nginx.conf includes in its upstreams (compose: the `app` service). */
export const NGINX_UPSTREAM = 'nginx-upstream.conf';

/**
 * The compose file's nginx config as it runs on loopback: the same file, with the included
 * upstream list written as one static `server 127.0.0.1:<port>` per instance, and the listen
 * port, pid file and temp folders moved into `dir`. Throws if the file no longer has those
 * lines, so the test cannot silently drift from the real config.
 */
export function loopbackConfig(instancePorts: number[], listenPort: number, dir: string): string {
  let conf = readFileSync(NGINX_CONF, 'utf8');
  const includes = conf.match(new RegExp(`include ${NGINX_UPSTREAM};`, 'g')) ?? [];
  if (includes.length < 2)
    throw new Error(`deploy/nginx.conf no longer includes ${NGINX_UPSTREAM} in its upstreams`);
  writeFileSync(
    join(dir, NGINX_UPSTREAM),
    instancePorts.map((port) => `server 127.0.0.1:${port} max_fails=0;\n`).join(''),
  );
  if (!/listen 8080;/.test(conf)) throw new Error('deploy/nginx.conf has no "listen 8080;"');
  conf = conf.replace('listen 8080;', `listen 127.0.0.1:${listenPort};`);
  conf = conf.replace(/pid [^;]+;/, `pid ${join(dir, 'nginx.pid')};`);
  // Temp files of this nginx stay in its own folder.
  conf = conf.replace(
    'http {',
    `http {\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;`,
  );
  return conf;
}

export interface Nginx {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Runs Debian's nginx with the loopback version of deploy/nginx.conf over the given instance ports. */
export async function startNginx(instancePorts: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'rt-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, loopbackConfig(instancePorts, port, dir));
  const child = spawn('nginx', ['-e', 'stderr', '-p', dir, '-c', file, '-g', 'daemon off;'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // Ready when it answers through to an instance.
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/live`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`nginx did not come up: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGQUIT');
        await once(child, 'exit');
      }
    },
  };
}

export interface Scaled {
  /** The instances; a test that restarts one puts its successor in its place. */
  instances: Instance[];
  lb: Nginx;
  stop(): Promise<void>;
}

/**
 * `docker compose up --scale app=<n>` on loopback: n instances (ids `app-1`...) behind nginx
 * running deploy/nginx.conf over their ports.
 */
export async function startScaled(n: number, options: InstanceOptions): Promise<Scaled> {
  const instances = await startInstances(n, { id: 'app', ...options });
  const lb = await startNginx(instances.map((i) => i.port));
  return {
    instances,
    lb,
    stop: async () => {
      await lb.stop();
      await Promise.all(instances.map((i) => i.stop()));
    },
  };
}
