import type { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module';
import { configureHttp } from '../../src/common/configure-http';
import { APP_CONFIG, type AppConfig } from '../../src/config/app.config';
import { REDIS_URL, TEST_API_KEY, TEST_SECRET } from './env';

const SILENT: LoggerService = {
  log: () => undefined,
  error: () => undefined,
  warn: () => undefined,
};

export interface InProcessApp {
  app: NestExpressApplication;
  url: string;
  close(): Promise<void>;
}

/**
 * The whole application in the test's own process (`Test.createTestingModule(AppModule)` and
 * `listen(0)`), on the real Postgres and Redis: a test can talk to it over HTTP and Socket.IO
 * like a client, and look at its providers directly. The middle tier between unit specs and the
 * suites that spawn processes (those stay for several instances, faults and deployment).
 */
export async function startInProcess(env: Record<string, string>): Promise<InProcessApp> {
  const settings: Record<string, string> = {
    NODE_ENV: 'test',
    INSTANCE_ID: `inproc-${Math.random().toString(16).slice(2, 8)}`,
    JWT_SECRET: TEST_SECRET,
    SERVICE_API_KEY: TEST_API_KEY,
    AUTH_RATE_LIMIT: '0',
    LOG_LEVEL: 'silent',
    REDIS_URL,
    ...env,
  };
  // The config is read from the environment when the module is built; put back what was there,
  // since the next test file in this worker shares the process.
  const saved = new Map(Object.keys(settings).map((k) => [k, process.env[k]]));
  Object.assign(process.env, settings);
  try {
    // Quiet while the module is built too (migrations log); LOG_LEVEL covers the app's own logs.
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .setLogger(SILENT)
      .compile();
    const app = moduleRef.createNestApplication<NestExpressApplication>({
      bodyParser: false,
      logger: false,
    });
    configureHttp(app, app.get<AppConfig>(APP_CONFIG));
    await app.listen(0, '127.0.0.1');
    const address = app.getHttpServer().address();
    if (typeof address !== 'object' || address === null) throw new Error('no listening address');
    return { app, url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}
