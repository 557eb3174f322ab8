import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AuthUser } from './auth-user';
import { CurrentUser, Public } from './auth.decorators';
import { AuthRateLimitGuard } from './auth-rate-limit.guard';
import { AuthService, type LoginResult } from './auth.service';
import { AuthResponse, LoginDto, RegisterDto, StreamTicketResponse } from './dto/auth.dto';
import { StreamTicketsService } from './stream-tickets.service';
import { ACCESS_TOKEN_COOKIE } from './token-extractor';

@ApiTags('auth')
@Controller('api/auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly tickets: StreamTicketsService,
  ) {}

  @Public()
  @UseGuards(AuthRateLimitGuard)
  @Post('register')
  @ApiCreatedResponse({ type: AuthResponse })
  async register(
    @Body() dto: RegisterDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AuthResponse> {
    return this.respond(await this.auth.register(dto), req, res);
  }

  @Public()
  @UseGuards(AuthRateLimitGuard)
  @Post('login')
  @HttpCode(200)
  @ApiOkResponse({ type: AuthResponse })
  async login(
    @Body() dto: LoginDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<AuthResponse> {
    return this.respond(await this.auth.login(dto), req, res);
  }

  @ApiBearerAuth('bearer')
  @Post('logout')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Logged out; the cookie is cleared' })
  async logout(
    @CurrentUser() user: AuthUser,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<void> {
    await this.auth.logout(user);
    res.clearCookie(ACCESS_TOKEN_COOKIE, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: req.secure,
    });
  }

  @ApiBearerAuth('bearer')
  @Post('stream-ticket')
  @ApiCreatedResponse({ type: StreamTicketResponse })
  async streamTicket(@CurrentUser() user: AuthUser): Promise<StreamTicketResponse> {
    const { ticket, expiresAt } = await this.tickets.issue(user);
    return { ticket, expiresAt: expiresAt.toISOString() };
  }

  private respond(result: LoginResult, req: Request, res: Response): AuthResponse {
    res.cookie(ACCESS_TOKEN_COOKIE, result.accessToken, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: req.secure,
      expires: result.expiresAt,
    });
    return { user: result.user, accessToken: result.accessToken };
  }
}
