import {
  ApiBearerAuth,
  ApiCookieAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import type { Response } from 'express';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { ChatService } from './chat.service';
import {
  AddMemberDto,
  CreateRoomDto,
  DirectRoomDto,
  HistoryPageResponse,
  HistoryQuery,
  MessageResponse,
  PageQuery,
  ReadDto,
  RoomMemberPageResponse,
  RoomPageResponse,
  RoomResponse,
  SendMessageDto,
} from './dto/chat.dto';
import { RoomsService } from './rooms.service';

const RoomId = new ParseUUIDPipe({ version: undefined, errorHttpStatusCode: 400 });

@ApiTags('rooms')
@ApiBearerAuth('bearer')
@ApiCookieAuth('cookie')
@Controller('api/rooms')
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly chat: ChatService,
  ) {}

  @Post()
  @ApiCreatedResponse({ type: RoomResponse })
  create(@CurrentUser() user: AuthUser, @Body() dto: CreateRoomDto): Promise<RoomResponse> {
    return this.rooms.create(user.userId, dto.name, dto.memberIds);
  }

  /** 201 when the direct room was created, 200 when it already existed. */
  @Post('direct')
  @ApiCreatedResponse({ type: RoomResponse, description: 'The direct room, created' })
  @ApiOkResponse({ type: RoomResponse, description: 'The direct room, which existed' })
  async direct(
    @CurrentUser() user: AuthUser,
    @Body() dto: DirectRoomDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<RoomResponse> {
    const { room, created } = await this.rooms.direct(user.userId, dto.userId);
    res.status(created ? 201 : 200);
    return room;
  }

  /** Newest activity first; `nextCursor` (opaque) fetches the next page, null on the last. */
  @Get()
  @ApiOkResponse({ type: RoomPageResponse })
  list(@CurrentUser() user: AuthUser, @Query() q: PageQuery): Promise<RoomPageResponse> {
    return this.rooms.list(user.userId, q.limit, q.cursor);
  }

  @Get(':id')
  @ApiOkResponse({ type: RoomResponse })
  get(@CurrentUser() user: AuthUser, @Param('id', RoomId) id: string): Promise<RoomResponse> {
    return this.rooms.get(user.userId, id);
  }

  /** In join order, a page at a time; each item also names the member (username, displayName). */
  @Get(':id/members')
  @ApiOkResponse({ type: RoomMemberPageResponse })
  members(
    @CurrentUser() user: AuthUser,
    @Param('id', RoomId) id: string,
    @Query() q: PageQuery,
  ): Promise<RoomMemberPageResponse> {
    return this.rooms.members(user.userId, id, q.limit, q.cursor);
  }

  @Post(':id/members')
  @HttpCode(200)
  @ApiOkResponse({ type: RoomResponse })
  addMember(
    @CurrentUser() user: AuthUser,
    @Param('id', RoomId) id: string,
    @Body() dto: AddMemberDto,
  ): Promise<RoomResponse> {
    return this.rooms.addMember(user.userId, id, dto.userId);
  }

  @Delete(':id/members/me')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Left the room' })
  async leave(@CurrentUser() user: AuthUser, @Param('id', RoomId) id: string): Promise<void> {
    await this.rooms.leave(user.userId, id);
  }

  @Get(':id/messages')
  @ApiOkResponse({ type: HistoryPageResponse })
  history(
    @CurrentUser() user: AuthUser,
    @Param('id', RoomId) id: string,
    @Query() query: HistoryQuery,
  ): Promise<HistoryPageResponse> {
    return this.chat.history(user.userId, id, query);
  }

  /** 201 for a new message, 200 when the clientMsgId was sent before (nothing created). */
  @Post(':id/messages')
  @ApiCreatedResponse({ type: MessageResponse, description: 'A new message' })
  @ApiOkResponse({
    type: MessageResponse,
    description: 'The message first sent with this clientMsgId',
  })
  @ApiServiceUnavailableResponse({
    description:
      'The instance is over its write capacity (message "the service is busy; retry shortly", ' +
      'with Retry-After), or the database is down. Nothing was written; retry with the same clientMsgId.',
  })
  async send(
    @CurrentUser() user: AuthUser,
    @Param('id', RoomId) id: string,
    @Body() dto: SendMessageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageResponse> {
    const { message, created } = await this.chat.send(user.userId, id, dto.body, dto.clientMsgId);
    res.status(created ? 201 : 200);
    return message;
  }

  @Post(':id/read')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Read position stored' })
  async read(
    @CurrentUser() user: AuthUser,
    @Param('id', RoomId) id: string,
    @Body() dto: ReadDto,
  ): Promise<void> {
    await this.chat.markRead(user.userId, id, dto.seq);
  }
}
