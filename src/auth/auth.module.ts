import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG } from '../config/app.config';
import { UsersModule } from '../users/users.module';
import { AuthRateLimitGuard } from './auth-rate-limit.guard';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { AuthService } from './auth.service';
import { Authenticator } from './authenticator.service';
import { jwtModuleOptions } from './jwt-keys';
import { PasswordHasher } from './password.hasher';
import { AuthSession } from './session.entity';
import { SessionsService } from './sessions.service';
import { StreamTicket } from './stream-ticket.entity';
import { StreamTicketsService } from './stream-tickets.service';
import { TokenService } from './token.service';

@Global()
@Module({
  imports: [
    JwtModule.registerAsync({ inject: [APP_CONFIG], useFactory: jwtModuleOptions }),
    TypeOrmModule.forFeature([AuthSession, StreamTicket]),
    UsersModule,
  ],
  controllers: [AuthController],
  providers: [
    AuthService,
    Authenticator,
    PasswordHasher,
    SessionsService,
    StreamTicketsService,
    TokenService,
    AuthRateLimitGuard,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [Authenticator, SessionsService],
})
export class AuthModule {}
