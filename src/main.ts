import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module';
import type { Server } from 'node:http';
import { listenAdminPort } from './common/admin-port';
import { configureHttp } from './common/configure-http';
import { APP_CONFIG, type AppConfig } from './config/app.config';
import { ConfigError, parseConfig } from './config/config.schema';
import { setupOpenApi } from './docs/openapi';
import { LifecycleService } from './lifecycle/lifecycle.service';
import { AppLogger } from './logging/app-logger';
import { Metrics } from './metrics/metrics.service';
import { ConfiguredIoAdapter } from './realtime/socket-io.adapter';

async function bootstrap(): Promise<void> {
  if (existsSync('.env')) process.loadEnvFile('.env');
  // Validate before Nest starts, so a bad value is one clear line and exit code 1.
  parseConfig(process.env);

  const app = await NestFactory.create<NestExpressApplication>(AppModule, {
    bodyParser: false,
    abortOnError: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(AppLogger));
  const config = app.get<AppConfig>(APP_CONFIG);
  const lifecycle = app.get(LifecycleService);
  app.useWebSocketAdapter(new ConfiguredIoAdapter(app, config, () => lifecycle.draining));
  configureHttp(app, config);
  setupOpenApi(app);
  const logger = new Logger('Main');
  // The last resort, not the way errors are handled: every promise is handled where it is made
  // (lint: no-floating-promises, `void` not accepted). One that slips through is a bug; it is
  // logged with its stack and counted, and does not take every user of the instance down with it.
  const metrics = app.get(Metrics);
  process.on('unhandledRejection', (reason: unknown) => {
    metrics.unhandledRejections.inc();
    logger.error(
      `unhandled promise rejection (a bug): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`,
    );
  });
  if (
    config.database.url === undefined &&
    config.redis.url === undefined &&
    config.redis.clusterNodes === undefined
  ) {
    logger.warn(
      'Embedded mode: PGlite and an in-process bus. Set DATABASE_URL and REDIS_URL to run several instances.',
    );
  }

  for (const name of config.placeholderSecrets)
    logger.warn(
      `${'!'.repeat(8)} ${name} is still the documented placeholder: anyone who read the docs can use it. Set your own random value (at least 16 characters) before this service is reachable by others. ${'!'.repeat(8)}`,
    );

  let adminServer: Server | undefined;
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: draining (readiness now 503)`);
    lifecycle.startDraining();
    // Keep-alive connections with no request in flight would hold the server open.
    app.getHttpServer().closeIdleConnections();
    adminServer?.close();
    adminServer?.closeIdleConnections();
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
  if (config.admin.port !== undefined) {
    adminServer = await listenAdminPort(app, config.admin.port);
    const admin = adminServer.address();
    logger.log(
      `operator endpoints (/metrics, /api/admin) only on admin port ${typeof admin === 'object' && admin !== null ? admin.port : config.admin.port}`,
    );
  }
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
