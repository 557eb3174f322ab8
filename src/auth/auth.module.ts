import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { APP_CONFIG } from '../config/app.config';
import { UsersModule } from '../users/users.module';
import { AuthRateLimitGuard } from './auth-rate-limit.guard';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { Authenticator } from './authenticator.service';
import { jwtModuleOptions } from './jwt-keys';
import { JWKS_FETCH, OutsideTokens } from './outside-tokens.service';
import { PasswordHasher } from './password.hasher';
import { SessionsRepository } from './sessions.repository';
import { SessionsService } from './sessions.service';
import { StreamTicketsRepository } from './stream-tickets.repository';
import { StreamTicketsService } from './stream-tickets.service';
import { TokenService } from './token.service';

@Global()
@Module({
  imports: [
    JwtModule.registerAsync({ inject: [APP_CONFIG], useFactory: jwtModuleOptions }),
    UsersModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    Authenticator,
    PasswordHasher,
    SessionsRepository,
    SessionsService,
    StreamTicketsRepository,
    StreamTicketsService,
    TokenService,
    OutsideTokens,
    { provide: JWKS_FETCH, useValue: fetch },
    AuthRateLimitGuard,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, SessionsService, OutsideTokens],
})
export class AuthModule {}
