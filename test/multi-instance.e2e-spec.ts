import { createTestDatabase, query, type TestDatabase } from './helpers/database';
import { http, registerUser } from './helpers/http';
import { startInstances, uniquePrefix, type Instance } from './helpers/instance';
import { waitUntil } from './helpers/wait';

/** Three real instances on one Postgres and one Redis, started at the same moment. */
describe('several instances', () => {
  let db: TestDatabase;
  let instances: Instance[];

  beforeAll(async () => {
    db = await createTestDatabase('multi');
    instances = await startInstances(3, {
      databaseUrl: db.url,
      redisPrefix: uniquePrefix('multi'),
      id: 'multi',
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all((instances ?? []).map((i) => i.stop()));
    await db?.drop();
  });

  it('all come up, and the schema is applied exactly once', async () => {
    const applied = instances.filter((i) => /applied \d+ migration/.test(i.output()));
    expect(applied).toHaveLength(1);
    const rows = await query<{ name: string }>(db.url, 'SELECT name FROM migrations');
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
    for (const instance of instances)
      expect((await http(instance.url, '/health/ready')).status).toBe(200);
  });

  it('accepts a token issued by one instance on every other', async () => {
    const { token, user } = await registerUser(instances[0].url);
    for (const instance of instances) {
      const me = await http<{ id: string }>(instance.url, '/api/me', { token });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(user.id);
    }
  });

  it('carries a bus event from one instance to the others: a logout on A ends the login on B and C at once', async () => {
    const [a, b, c] = instances;
    const { token } = await registerUser(a.url);
    // B and C now hold the session in their 30 s caches; only the bus event can evict it sooner.
    expect((await http(b.url, '/api/me', { token })).status).toBe(200);
    expect((await http(c.url, '/api/me', { token })).status).toBe(200);
    expect((await http(a.url, '/api/auth/logout', { method: 'POST', token })).status).toBe(204);
    // Well within the 30 s the caches would otherwise keep the login.
    await Promise.all(
      [b, c].map((i) =>
        waitUntil(
          async () => (await http(i.url, '/api/me', { token })).status === 401,
          3000,
          'logout seen',
        ),
      ),
    );
  });
});
