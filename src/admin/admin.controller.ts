import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiKeyAuth } from '../auth/auth.decorators';
import { SessionsService } from '../auth/sessions.service';
import { ChatService } from '../chat/chat.service';
import { MessageResponse, RoomResponse } from '../chat/dto/chat.dto';
import { PresenceService } from '../chat/presence/presence.service';
import { RoomsService } from '../chat/rooms.service';
import { UserResponse } from '../users/dto/users.dto';
import { ExternalUsersService } from '../users/external-users.service';
import { isExternalId } from '../users/profile-rules';
import { UsersService } from '../users/users.service';
import { AdminWrites } from './admin-writes';
import {
  AdminAddMembersDto,
  AdminCreateRoomDto,
  AdminSendMessageDto,
  AdminUpsertExternalUserDto,
  PresenceQuery,
  PresenceQueryDto,
  PresenceResponse,
} from './dto/admin.dto';

const Id = new ParseUUIDPipe({ version: undefined, errorHttpStatusCode: 400 });

/**
 * The server API: the team's backend drives the service with an API key (`X-Api-Key`). Every
 * route is authorised by the key alone (no user), validated, and every write counts against
 * RATE_LIMIT_ADMIN.
 */
@ApiTags('admin')
@ApiSecurity('api-key')
@ApiKeyAuth()
@Controller('api/admin')
export class AdminController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly chat: ChatService,
    private readonly sessions: SessionsService,
    private readonly presence: PresenceService,
    private readonly users: UsersService,
    private readonly writes: AdminWrites,
    private readonly externalUsers: ExternalUsersService,
  ) {}

  /** A group room with these members and no creator. */
  @Post('rooms')
  @ApiCreatedResponse({ type: RoomResponse })
  async createRoom(@Body() dto: AdminCreateRoomDto): Promise<RoomResponse> {
    await this.writes.consume();
    return this.rooms.createForService(dto.name, dto.memberIds);
  }

  /** Adds 1-1000 users to a group room, all or none (409 past MAX_ROOM_MEMBERS). */
  @Post('rooms/:id/members')
  @HttpCode(200)
  @ApiOkResponse({ type: RoomResponse })
  async addMembers(
    @Param('id', Id) roomId: string,
    @Body() dto: AdminAddMembersDto,
  ): Promise<RoomResponse> {
    await this.writes.consume();
    return this.rooms.addMembersForService(roomId, dto.userIds);
  }

  /** From now on the user's sockets on every instance get nothing more of the room; REST: 403. */
  @Delete('rooms/:id/members/:userId')
  @HttpCode(204)
  @ApiNoContentResponse()
  async removeMember(
    @Param('id', Id) roomId: string,
    @Param('userId', Id) userId: string,
  ): Promise<void> {
    await this.writes.consume();
    await this.rooms.removeMemberForService(roomId, userId);
  }

  /**
   * A message on behalf of a member (`senderId`), or a system message (no `senderId`:
   * `senderId: null`), delivered live like any other. 201 new; 200 when the clientMsgId repeats.
   */
  @Post('rooms/:id/messages')
  @ApiCreatedResponse({ type: MessageResponse, description: 'A new message' })
  @ApiOkResponse({
    type: MessageResponse,
    description: 'The message first sent with this clientMsgId',
  })
  async sendMessage(
    @Param('id', Id) roomId: string,
    @Body() dto: AdminSendMessageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageResponse> {
    await this.writes.consume();
    const { message, created } = await this.chat.sendForService(
      roomId,
      dto.body,
      dto.senderId ?? null,
      dto.clientMsgId,
    );
    res.status(created ? 201 : 200);
    return message;
  }

  /**
   * The user the team's identity provider knows by `externalId` (its `sub`): made now (201), or
   * the existing one (200) with `username` / `displayName` set where given (409 for a taken name).
   */
  @Put('users/external/:externalId')
  @ApiCreatedResponse({ type: UserResponse, description: 'A new user' })
  @ApiOkResponse({ type: UserResponse, description: 'The existing user' })
  async upsertExternal(
    @Param('externalId') externalId: string,
    @Body() dto: AdminUpsertExternalUserDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<UserResponse> {
    if (!isExternalId(externalId))
      throw new BadRequestException('externalId must be 1-255 characters of text');
    await this.writes.consume();
    const { user, created } = await this.externalUsers.upsert(externalId, dto);
    res.status(created ? 201 : 200);
    return user;
  }

  /** Ends every login, socket and stream of the user on every instance. */
  @Post('users/:id/disconnect')
  @HttpCode(204)
  @ApiNoContentResponse()
  async disconnect(@Param('id', Id) userId: string): Promise<void> {
    await this.writes.consume();
    await this.users.get(userId); // 404 for no such user
    await this.sessions.disconnectUser(userId);
  }

  /** Whether each user has a socket on some live instance. */
  @Get('presence')
  @ApiOkResponse({ type: PresenceResponse })
  presenceOf(@Query() q: PresenceQuery): Promise<PresenceResponse> {
    return this.presenceFor(q.userIds);
  }

  /**
   * The same for lists too long for a URL (Node refuses request heads over 16 KiB, about 400
   * ids): the ids in the body. A read: not counted against the write budget.
   */
  @Post('presence/query')
  @HttpCode(200)
  @ApiOkResponse({ type: PresenceResponse })
  presenceQuery(@Body() dto: PresenceQueryDto): Promise<PresenceResponse> {
    return this.presenceFor(dto.userIds);
  }

  private async presenceFor(userIds: string[]): Promise<PresenceResponse> {
    const ids = [...new Set(userIds)];
    const online = await this.presence.online(ids);
    return { items: ids.map((userId) => ({ userId, online: online.has(userId) })) };
  }
}
