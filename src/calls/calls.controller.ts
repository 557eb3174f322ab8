import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { CallsService } from './calls.service';
import { CallListResponse, CallResponse, CallsQuery, IceServersResponse } from './dto/calls.dto';
import { IceServers } from './ice-servers';

@ApiTags('calls')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api')
export class CallsController {
  constructor(
    private readonly calls: CallsService,
    private readonly ice: IceServers,
  ) {}

  /** A call of a room the user is a member of. */
  @Get('calls/:id')
  @ApiOkResponse({ type: CallResponse })
  get(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) id: string,
  ): Promise<CallResponse> {
    return this.calls.get(user.userId, id);
  }

  /** The room's calls, newest first. */
  @Get('rooms/:id/calls')
  @ApiOkResponse({ type: CallListResponse })
  async forRoom(
    @CurrentUser() user: AuthUser,
    @Param('id', new ParseUUIDPipe({ version: undefined })) roomId: string,
    @Query() q: CallsQuery,
  ): Promise<CallListResponse> {
    return { items: await this.calls.forRoom(user.userId, roomId, q.limit) };
  }

  /** ICE servers for RTCPeerConnection: STUN, and TURN with short-lived credentials. */
  @Get('rtc/ice-servers')
  @ApiOkResponse({ type: IceServersResponse })
  iceServers(@CurrentUser() user: AuthUser): IceServersResponse {
    return this.ice.forUser(user.userId);
  }
}
