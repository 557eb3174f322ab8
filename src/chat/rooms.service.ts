import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { Bus } from '../bus/bus';
import { decodeCursor, pageOf, type Page } from '../common/page-cursor';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { RateLimiter } from '../rate-limit/rate-limiter';
import type { RoomKind, RoomMember, RoomView } from './chat.views';
import { RoomsRepository } from './rooms.repository';

/** Rooms and their members. Membership is what authorises every room endpoint and event. */
@Injectable()
export class RoomsService {
  constructor(
    private readonly repo: RoomsRepository,
    private readonly bus: Bus,
    private readonly limiter: RateLimiter,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Creating rooms and adding members: RATE_LIMIT_ROOMS a minute per user, across instances. */
  private async consumeRoomAllowance(userId: string): Promise<void> {
    const decision = await this.limiter.consume(
      `rooms:${userId}`,
      this.config.chat.roomRateLimit,
      60_000,
    );
    if (!decision.allowed) throw new TooManyRequestsException(decision.retryAfterMs);
  }

  private roomFull(): ConflictException {
    return new ConflictException(
      `a group room has at most ${this.config.chat.maxRoomMembers} members`,
    );
  }

  async create(creatorId: string, name: string, memberIds: string[] = []): Promise<RoomView> {
    const trimmed = name.trim();
    if (trimmed.length === 0) throw new BadRequestException('name must not be blank');
    const members = [...new Set([creatorId, ...memberIds])];
    if (members.length > this.config.chat.maxRoomMembers) throw this.roomFull();
    await this.consumeRoomAllowance(creatorId);
    const room = await this.repo.createGroup(creatorId, trimmed, members);
    if (room === null) throw new NotFoundException('one or more memberIds are not users');
    return room;
  }

  /** The one direct room of two users; `created` is false when it already existed. */
  async direct(userId: string, otherId: string): Promise<{ room: RoomView; created: boolean }> {
    if (userId === otherId) throw new BadRequestException('a direct room needs another user');
    await this.consumeRoomAllowance(userId);
    const direct = await this.repo.direct(userId, otherId);
    if (direct === null) throw new NotFoundException('user not found');
    return direct;
  }

  async get(userId: string, roomId: string): Promise<RoomView> {
    await this.assertMember(userId, roomId);
    const room = await this.repo.load(roomId);
    if (room === null) throw new NotFoundException('room not found');
    return room;
  }

  /** The user's rooms, newest activity first, a page at a time (keyset on activity, id). */
  async list(
    userId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<RoomView & { unreadCount: number }>> {
    const after = cursor === undefined ? null : decodeCursor(cursor);
    return pageOf(await this.repo.listFor(userId, after, limit + 1), limit);
  }

  async addMember(callerId: string, roomId: string, userId: string): Promise<RoomView> {
    const room = await this.assertMember(callerId, roomId);
    if (room.kind === 'direct')
      throw new BadRequestException('members cannot be added to a direct room');
    if (!(await this.repo.userExists(userId))) throw new NotFoundException('user not found');
    await this.consumeRoomAllowance(callerId);
    const outcome = await this.repo.addMember(roomId, userId, this.config.chat.maxRoomMembers);
    if ('full' in outcome) throw this.roomFull();
    return outcome.room;
  }

  /** A group room made by the team's backend: no creator, these members. */
  async createForService(name: string, memberIds: string[]): Promise<RoomView> {
    const trimmed = name.trim();
    if (trimmed.length === 0) throw new BadRequestException('name must not be blank');
    const members = [...new Set(memberIds)];
    if (members.length > this.config.chat.maxRoomMembers) throw this.roomFull();
    const room = await this.repo.createGroup(null, trimmed, members);
    if (room === null) throw new NotFoundException('one or more memberIds are not users');
    return room;
  }

  /** Adds users to a group room, all or none. */
  async addMembersForService(roomId: string, userIds: string[]): Promise<RoomView> {
    const room = await this.repo.load(roomId);
    if (room === null) throw new NotFoundException('room not found');
    if (room.kind === 'direct')
      throw new BadRequestException('members cannot be added to a direct room');
    const unique = [...new Set(userIds)];
    if ((await this.repo.existingUsers(unique)).length !== unique.length)
      throw new NotFoundException('one or more userIds are not users');
    const outcome = await this.repo.addMembersCapped(
      roomId,
      unique,
      this.config.chat.maxRoomMembers,
    );
    if ('full' in outcome) throw this.roomFull();
    return outcome.room;
  }

  /**
   * Takes a member out of a room: REST answers 403 from now on, and the member's sockets on every
   * instance leave the room (they hear `chat.member-left` on the user's channel).
   */
  async removeMemberForService(roomId: string, userId: string): Promise<void> {
    if ((await this.repo.load(roomId)) === null) throw new NotFoundException('room not found');
    if (!(await this.repo.removeMember(roomId, userId)))
      throw new NotFoundException('not a member of this room');
    this.bus.publish('chat.member-left', { roomId, userId });
  }

  async leave(userId: string, roomId: string): Promise<void> {
    await this.assertMember(userId, roomId);
    await this.repo.removeMember(roomId, userId);
    this.bus.publish('chat.member-left', { roomId, userId });
  }

  /** 404 when the room does not exist, 403 when the user is not a member. */
  async assertMember(userId: string, roomId: string): Promise<{ kind: RoomKind; lastSeq: number }> {
    const access = await this.repo.access(roomId, userId);
    if (access === null) throw new NotFoundException('room not found');
    if (!access.member) throw new ForbiddenException('not a member of this room');
    return { kind: access.kind, lastSeq: access.lastSeq };
  }

  /**
   * Rooms of a user that get presence events: those of at most PRESENCE_MAX_ROOM_SIZE members
   * (in a big room, every arrival told to every member is O(members^2) events).
   */
  async presenceRoomIdsOf(userId: string): Promise<string[]> {
    return this.repo.smallRoomIdsOf(userId, this.config.chat.presenceMaxRoomSize);
  }

  /** A room's members in the order they joined, a page at a time, with their names. */
  async members(
    userId: string,
    roomId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<RoomMember>> {
    await this.assertMember(userId, roomId);
    const after = cursor === undefined ? null : decodeCursor(cursor);
    return pageOf(await this.repo.members(roomId, after, limit + 1), limit);
  }

  memberIds(roomId: string): Promise<string[]> {
    return this.repo.memberIds(roomId);
  }
}
