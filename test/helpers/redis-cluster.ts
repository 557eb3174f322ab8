import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitUntil } from './wait';

const run = promisify(execFile);

/** True when nothing listens on the port (checked by binding it). */
async function portFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` ports whose cluster bus ports (port + 10000) are free as well, both below the
 * ephemeral range (32768 up), where an outgoing connection could take one after the check.
 */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 10000 + Math.floor(Math.random() * 12000);
    if (ports.includes(port)) continue;
    if ((await portFree(port)) && (await portFree(port + 10000))) ports.push(port);
  }
  return ports;
}

export interface ClusterNode {
  port: number;
  id: string;
  role: 'master' | 'slave';
  /** For a replica: the id of its master. */
  masterId: string | null;
  /** Slot ranges a master serves, as [from, to]. */
  slots: Array<[number, number]>;
}

/**
 * A real Redis Cluster on loopback: three masters and three replicas (`redis-cli --cluster
 * create`), with a short node timeout so that a killed master's replica takes over in seconds.
 */
export class RedisCluster {
  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {
    // Never left running by a test process that dies.
    process.once('exit', () => {
      for (const child of this.children.values()) child.kill('SIGKILL');
    });
  }

  static async start(): Promise<RedisCluster> {
    const cluster = new RedisCluster(
      await clusterPorts(6),
      mkdtempSync(join(tmpdir(), 'rt-cluster-')),
    );
    await Promise.all(cluster.ports.map((p) => cluster.startNode(p)));
    await run('redis-cli', [
      '--cluster',
      'create',
      ...cluster.ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ]);
    await waitUntil(() => cluster.healthy(), 30_000, 'cluster state ok on every node', 100);
    // A replica that never synced cannot take over: wait until every one has its master's data.
    await waitUntil(() => cluster.replicasInSync(), 30_000, 'replicas in sync', 100);
    return cluster;
  }

  /** REDIS_CLUSTER_NODES for the service: every node as a seed. */
  get seeds(): string {
    return this.ports.map((p) => `127.0.0.1:${p}`).join(',');
  }

  async cli(port: number, ...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
    return stdout;
  }

  /** Every node's view of the cluster, from one live node. */
  async nodes(): Promise<ClusterNode[]> {
    const live = [...this.children.keys()][0];
    const out = await this.cli(live, 'cluster', 'nodes');
    return out
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, master, , , , state, ...slots] = line.split(' ');
        return {
          id,
          port: Number(address.split('@')[0].split(':')[1]),
          role: flags.includes('master') ? 'master' : 'slave',
          masterId: master === '-' ? null : master,
          alive: state === 'connected' && !flags.includes('fail'),
          slots: slots
            .filter((s) => /^\d/.test(s))
            .map((s) => {
              const [from, to] = s.split('-').map(Number);
              return [from, to ?? from] as [number, number];
            }),
        };
      })
      .filter((n) => n.alive)
      .map(({ alive: _alive, ...n }) => n as ClusterNode);
  }

  async masters(): Promise<ClusterNode[]> {
    return (await this.nodes()).filter((n) => n.role === 'master' && n.slots.length > 0);
  }

  /** The master serving the slot of `key` (a channel name hashes like a key). */
  async masterOf(key: string): Promise<ClusterNode> {
    const live = [...this.children.keys()][0];
    const slot = Number((await this.cli(live, 'cluster', 'keyslot', key)).trim());
    const master = (await this.masters()).find((m) =>
      m.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (master === undefined) throw new Error(`no master serves slot ${slot}`);
    return master;
  }

  /**
   * Moves the slot of `key` to another master, as `redis-cli --cluster reshard` does for each
   * slot (the slot's keys, if any, migrated first). Returns the new owner.
   */
  async migrateSlotOf(key: string): Promise<ClusterNode> {
    const live = [...this.children.keys()][0];
    const slot = (await this.cli(live, 'cluster', 'keyslot', key)).trim();
    const from = await this.masterOf(key);
    const masters = await this.masters();
    const to = masters.find((m) => m.id !== from.id);
    if (to === undefined) throw new Error('no other master');
    await this.cli(to.port, 'cluster', 'setslot', slot, 'importing', from.id);
    await this.cli(from.port, 'cluster', 'setslot', slot, 'migrating', to.id);
    for (;;) {
      const keys = (await this.cli(from.port, 'cluster', 'getkeysinslot', slot, '100'))
        .split('\n')
        .filter((k) => k !== '');
      if (keys.length === 0) break;
      await this.cli(
        from.port,
        'migrate',
        '127.0.0.1',
        String(to.port),
        '',
        '0',
        '5000',
        'keys',
        ...keys,
      );
    }
    for (const m of masters) await this.cli(m.port, 'cluster', 'setslot', slot, 'node', to.id);
    return to;
  }

  /** SIGKILL: the node vanishes mid-traffic, as a crashed host would. */
  async kill(port: number): Promise<void> {
    const child = this.children.get(port);
    if (child === undefined) return;
    this.children.delete(port);
    child.kill('SIGKILL');
    await once(child, 'exit');
  }

  async healthy(): Promise<boolean> {
    const states = await Promise.all(
      [...this.children.keys()].map((p) =>
        this.cli(p, 'cluster', 'info').then(
          (info) => info.includes('cluster_state:ok'),
          () => false,
        ),
      ),
    );
    return states.every(Boolean);
  }

  async replicasInSync(): Promise<boolean> {
    const replicas = (await this.nodes()).filter((n) => n.role === 'slave');
    if (replicas.length !== 3) return false;
    const infos = await Promise.all(replicas.map((r) => this.cli(r.port, 'info', 'replication')));
    return infos.every((i) => i.includes('master_link_status:up'));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.keys()].map((p) => this.kill(p)));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async startNode(port: number): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(this.dir, `nodes-${port}.conf`),
        '--cluster-node-timeout',
        '1500',
        '--save',
        '',
        '--appendonly',
        'no',
        // Replicas sync at once rather than after the default 5 s wait for more replicas.
        '--repl-diskless-sync-delay',
        '0',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.children.set(port, child);
    await waitUntil(
      () =>
        this.cli(port, 'ping').then(
          (r) => r.trim() === 'PONG',
          () => false,
        ),
      5000,
      `redis-server on ${port}`,
      25,
    );
  }
}
