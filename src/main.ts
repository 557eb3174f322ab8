import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoLogger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import { configureHttp } from './common/configure-http';
import { APP_CONFIG, type AppConfig } from './config/app.config';
import { ConfigError, parseConfig } from './config/config.schema';
import { setupOpenApi } from './docs/openapi';
import { LifecycleService } from './lifecycle/lifecycle.service';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Validate before Nest starts, so a bad value is one clear line and exit code 1.
  parseConfig(process.env);

  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    abortOnError: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(PinoLogger));
  const config = app.get<AppConfig>(APP_CONFIG);
  configureHttp(app, config);
  setupOpenApi(app);
  const logger = new Logger('Main');
  if (config.database.url === undefined && config.redis.url === undefined) {
    logger.warn(
      'Embedded mode: PGlite and an in-process bus. Set DATABASE_URL and REDIS_URL to run several instances.',
    );
  }

  const lifecycle = app.get(LifecycleService);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining (readiness now 503)`);
    lifecycle.startDraining();
    // Keep-alive connections with no request in flight would hold the server open.
    app.getHttpServer().closeIdleConnections();
    const force = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app
      .close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));

  await app.listen(config.port);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  logger.log(`instance ${config.instanceId} listening on port ${port}`);
}

bootstrap().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    process.stderr.write(`Startup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
  process.exit(1);
});
