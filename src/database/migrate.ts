import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, parseConfig } from '../config/config.schema';
import { buildDataSourceOptions, withMigrationLock } from './data-source.factory';

/**
 * `npm run migrate`: applies pending migrations and exits (instances also do it at start).
 * `npm run migrate:revert`: undoes the most recent one, to roll back a release whose
 * migration is not yet relied on. Both under the advisory lock the instances take.
 */
async function main(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = parseConfig(process.env);
  const revert = process.argv.includes('revert');
  const dataSource = await new DataSource(buildDataSourceOptions(config)).initialize();
  const logger = new Logger('Migrations');
  try {
    await withMigrationLock(dataSource, async () => {
      if (revert) {
        await dataSource.undoLastMigration({ transaction: 'each' });
        logger.log('reverted the most recent migration');
      } else {
        const applied = await dataSource.runMigrations({ transaction: 'each' });
        logger.log(
          applied.length === 0
            ? 'no pending migration'
            : `applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`,
        );
      }
    });
  } finally {
    await dataSource.destroy();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof ConfigError ? '' : 'Migration failed: '}${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
