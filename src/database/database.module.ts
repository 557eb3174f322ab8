import { Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app.config';
import { buildDataSourceOptions, createDataSource } from './data-source.factory';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => {
        if (config.database.url === undefined) {
          new Logger('Database').warn(
            `DATABASE_URL is not set: using embedded PGlite under ${config.database.pgliteDataDir} (one instance only; for trying the service)`,
          );
        }
        return buildDataSourceOptions(config);
      },
      dataSourceFactory: async (options?: DataSourceOptions) => {
        if (options === undefined) throw new Error('TypeORM gave no data source options');
        return createDataSource(options);
      },
    }),
  ],
})
export class DatabaseModule {}
