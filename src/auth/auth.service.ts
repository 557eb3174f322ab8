import { Injectable, UnauthorizedException } from '@nestjs/common';
import type { UserView } from '../users/user.views';
import { UsersService } from '../users/users.service';
import type { AuthUser } from './auth-user';
import type { LoginDto, RegisterDto } from './dto/auth.dto';
import { PasswordHasher } from './password.hasher';
import { SessionsService } from './sessions.service';
import { TokenService } from './token.service';

export interface LoginResult {
  user: UserView;
  accessToken: string;
  expiresAt: Date;
}

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly tokens: TokenService,
  ) {}

  async register(dto: RegisterDto): Promise<LoginResult> {
    const hash = await this.hasher.hash(dto.password);
    const user = await this.users.create(dto.username, dto.displayName ?? dto.username, hash);
    return this.startSession(user);
  }

  async login(dto: LoginDto): Promise<LoginResult> {
    const found = await this.users.findCredentials(dto.username);
    // An outside user has no password here: they log in at their identity provider.
    const ok =
      found === null || found.passwordHash === null
        ? await this.hasher.verifyNothing(dto.password)
        : await this.hasher.verify(dto.password, found.passwordHash);
    if (!ok || found === null) throw new UnauthorizedException('invalid username or password');
    return this.startSession(found.user);
  }

  async logout(user: AuthUser): Promise<void> {
    if (user.sessionId !== null) await this.sessions.revoke(user.userId, user.sessionId);
  }

  private async startSession(user: UserView): Promise<LoginResult> {
    const sessionId = await this.sessions.create(
      user.id,
      new Date(Date.now() + this.tokens.ttlMs()),
    );
    const { token, expiresAt } = await this.tokens.issue(user.id, sessionId);
    return { user, accessToken: token, expiresAt };
  }
}
