import { Inject } from '@nestjs/common';
import { registerAs } from '@nestjs/config';
import { parseConfig, type AppConfig } from './config.schema';

/**
 * The typed config, registered with @nestjs/config so it is validated once at boot (after the
 * optional `.env` file is loaded) and injected with `@InjectConfig()`.
 */
export const appConfig = registerAs('app', (): AppConfig => parseConfig(process.env));

export const APP_CONFIG = appConfig.KEY;

export const InjectConfig = (): PropertyDecorator & ParameterDecorator => Inject(APP_CONFIG);

export type { AppConfig };
