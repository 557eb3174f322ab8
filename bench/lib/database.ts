/**
 * A throw-away database per benchmark, and users seeded straight into it: registering thousands
 * of users through the API would spend the setup on scrypt. Each seeded user gets a real login
 * session row and an access token signed with the instance's secret, exactly as the service
 * issues them, so every request and socket is authenticated the normal way.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { Client } from 'pg';
import { PG_ADMIN_URL, TEST_SECRET } from '../../test/helpers/env';

export interface BenchDatabase {
  url: string;
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function adminQuery(text: string): Promise<void> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export async function createDatabase(): Promise<BenchDatabase> {
  const name = `rt_bench_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    query: async <T>(text: string, params: unknown[] = []) =>
      (await client.query(text, params)).rows as T[],
    drop: async () => {
      await client.end();
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

export interface SeededUser {
  id: string;
  token: string;
}

/** `count` users named `<prefix><n>`, each with a live session and a 1-hour token. Needs the schema (start an instance first). */
export async function seedUsers(
  db: BenchDatabase,
  prefix: string,
  count: number,
): Promise<SeededUser[]> {
  const rows = await db.query<{ id: string; session_id: string }>(
    `WITH u AS (
       INSERT INTO users (username, display_name, password_hash)
       SELECT $1 || g, $1 || g, 'not-a-login' FROM generate_series(1, $2) g
       RETURNING id)
     INSERT INTO auth_sessions (id, user_id, expires_at)
     SELECT gen_random_uuid(), id, now() + interval '1 hour' FROM u
     RETURNING user_id AS id, id AS session_id`,
    [prefix, count],
  );
  return rows.map((r) => ({
    id: r.id,
    token: jwt.sign({ sub: r.id, sid: r.session_id }, TEST_SECRET, {
      algorithm: 'HS256',
      expiresIn: 3600,
    }),
  }));
}

/** A group room with these members; returns its id. */
export async function seedRoom(
  db: BenchDatabase,
  name: string,
  memberIds: string[],
): Promise<string> {
  const id = randomUUID();
  await db.query(`INSERT INTO rooms (id, name, kind) VALUES ($1, $2, 'group')`, [id, name]);
  await db.query(`INSERT INTO room_members (room_id, user_id) SELECT $1, unnest($2::uuid[])`, [
    id,
    memberIds,
  ]);
  return id;
}

/** Runs `fn` with a throw-away database and drops it however `fn` ends. */
export async function withDatabase<T>(fn: (db: BenchDatabase) => Promise<T>): Promise<T> {
  const db = await createDatabase();
  try {
    return await fn(db);
  } finally {
    await db.drop();
  }
}

/** `pairs` rooms of two seeded users each (sender 2i, receiver 2i+1), for the chat scenarios. */
export async function seedPairs(
  db: BenchDatabase,
  label: string,
  pairs: number,
): Promise<{ users: SeededUser[]; roomIds: string[] }> {
  const users = await seedUsers(db, label, pairs * 2);
  const roomIds: string[] = [];
  for (let i = 0; i < pairs; i++)
    roomIds.push(await seedRoom(db, `${label} ${i}`, [users[2 * i]?.id, users[2 * i + 1]?.id]));
  return { users, roomIds };
}
