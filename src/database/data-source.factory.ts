import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import type { AppConfig } from '../config/config.schema';
import { migrations } from './migrations';

/** Any stable 64-bit number; every instance takes this lock before applying migrations. */
const MIGRATION_LOCK_KEY = 7_240_412_133;

export function buildDataSourceOptions(config: AppConfig): DataSourceOptions {
  const logger = new Logger('Database');
  const common = {
    type: 'postgres' as const,
    synchronize: false,
    migrationsRun: false,
    migrations,
    migrationsTransactionMode: 'each' as const,
    installExtensions: false,
    parseInt8: true,
    logging: false,
  };
  if (config.database.url === undefined) {
    const dataDir = resolve(config.database.pgliteDataDir);
    mkdirSync(dataDir, { recursive: true });
    return { ...common, driver: new PGliteDriver({ dataDir }).driver };
  }
  return {
    ...common,
    url: config.database.url,
    connectTimeoutMS: 3000,
    // A dead database must fail requests fast (503) rather than queue them behind the pool.
    extra: {
      max: 20,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 30000,
      application_name: 'realtime-service',
      // statement_timeout: no statement holds a pooled connection longer, so a few heavy
      // requests cannot starve the pool (a migration that needs longer says SET LOCAL).
      // plan_cache_mode: only the hot statements run as named prepared statements
      // (database/prepared.ts); a generic plan spares them planning on every call, a third of
      // the chat batch insert's database CPU. Unnamed statements are planned per call anyway.
      options: `-c statement_timeout=${config.database.statementTimeoutMs} -c plan_cache_mode=force_generic_plan`,
    },
    poolErrorHandler: (err: unknown) =>
      logger.warn(
        `idle database connection failed: ${err instanceof Error ? err.message : String(err)}`,
      ),
  };
}

/**
 * Runs `work` while holding the migration lock. With Postgres, a session advisory lock makes
 * instances that start together (and `npm run migrate`) take turns; embedded PGlite lives in
 * this process alone, with nobody to race with.
 */
export async function withMigrationLock(
  dataSource: DataSource,
  work: () => Promise<void>,
): Promise<void> {
  if (!('url' in dataSource.options) || dataSource.options.url === undefined) return work();
  const lockRunner = dataSource.createQueryRunner();
  await lockRunner.connect();
  try {
    await lockRunner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await work();
  } finally {
    await lockRunner
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    await lockRunner.release();
  }
}

/** Applies pending migrations: the first instance applies them, the others then find none. */
export async function runMigrations(dataSource: DataSource): Promise<void> {
  const logger = new Logger('Migrations');
  await withMigrationLock(dataSource, async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length > 0)
      logger.log(
        `applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`,
      );
  });
}

export async function createDataSource(options: DataSourceOptions): Promise<DataSource> {
  const dataSource = await new DataSource(options).initialize();
  await runMigrations(dataSource);
  return dataSource;
}
