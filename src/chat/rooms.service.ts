import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import { Bus } from '../bus/bus';
import { decodeCursor, encodeCursor } from '../common/page-cursor';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { rowsOf } from '../database/rows';
import { RateLimiter } from '../rate-limit/rate-limiter';
import type { RoomView } from './chat.views';
import type { RoomKind } from './room.entity';

interface RoomRow {
  id: string;
  name: string;
  kind: RoomKind;
  last_seq: number | string;
  created_at: Date;
  /** last_activity_at as text, to the microsecond: the list's keyset. */
  activity_key: string;
  member_ids: string[] | null;
  member_count: number | string;
}

/** A Room names its first members only; the whole list is paged (`members`). */
export const ROOM_MEMBER_IDS_SHOWN = 100;

const ROOM_COLUMNS = `r.id, r.name, r.kind, r.last_seq, r.created_at, r.last_activity_at::text AS activity_key,
  (SELECT array_agg(f.user_id::text ORDER BY f.joined_at, f.user_id) FROM (
     SELECT m.user_id, m.joined_at FROM room_members m WHERE m.room_id = r.id
     ORDER BY m.joined_at, m.user_id LIMIT ${ROOM_MEMBER_IDS_SHOWN}) f) AS member_ids,
  (SELECT count(*) FROM room_members m WHERE m.room_id = r.id) AS member_count`;

const toRoomView = (row: RoomRow): RoomView => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  memberIds: row.member_ids ?? [],
  memberCount: Number(row.member_count),
  lastSeq: Number(row.last_seq),
  createdAt: row.created_at.toISOString(),
});

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RoomMember {
  userId: string;
  joinedAt: string;
  username: string;
  displayName: string;
}

/** Rooms and their members. Membership is what authorises every room endpoint and event. */
@Injectable()
export class RoomsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
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
    return this.db.transaction(async (tx) => {
      const found = rowsOf<{ id: string }>(
        await tx.query(`SELECT id FROM users WHERE id = ANY($1::uuid[])`, [members]),
      );
      if (found.length !== members.length)
        throw new NotFoundException('one or more memberIds are not users');
      const [room] = rowsOf<{ id: string }>(
        await tx.query(
          `INSERT INTO rooms (name, kind, created_by) VALUES ($1, 'group', $2) RETURNING id`,
          [trimmed, creatorId],
        ),
      );
      await tx.query(
        `INSERT INTO room_members (room_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) WITH ORDINALITY AS t(u, i) ORDER BY i`,
        [room.id, members],
      );
      return this.load(tx, room.id);
    });
  }

  /** The one direct room of two users; `created` is false when it already existed. */
  async direct(userId: string, otherId: string): Promise<{ room: RoomView; created: boolean }> {
    if (userId === otherId) throw new BadRequestException('a direct room needs another user');
    await this.consumeRoomAllowance(userId);
    const key = [userId, otherId].sort().join(':');
    return this.db.transaction(async (tx) => {
      const users = rowsOf<{ id: string; username: string }>(
        await tx.query(
          `SELECT id, username FROM users WHERE id = ANY($1::uuid[]) ORDER BY username`,
          [[userId, otherId]],
        ),
      );
      if (users.length !== 2) throw new NotFoundException('user not found');
      // Two users asking at the same moment both reach this insert; the unique key lets one
      // win and makes the other wait for it, then see its room.
      const inserted = rowsOf<{ id: string }>(
        await tx.query(
          `INSERT INTO rooms (name, kind, direct_key, created_by) VALUES ($1, 'direct', $2, $3)
           ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
          [users.map((u) => u.username).join(' & '), key, userId],
        ),
      );
      let roomId: string;
      if (inserted.length > 0) {
        roomId = inserted[0].id;
      } else {
        const [existing] = rowsOf<{ id: string }>(
          await tx.query(`SELECT id FROM rooms WHERE direct_key = $1`, [key]),
        );
        roomId = existing.id;
      }
      // Both belong to their direct room, even if one of them left it earlier.
      await tx.query(
        `INSERT INTO room_members (room_id, user_id) SELECT $1, u FROM unnest($2::uuid[]) AS u ON CONFLICT DO NOTHING`,
        [roomId, [userId, otherId]],
      );
      return { room: await this.load(tx, roomId), created: inserted.length > 0 };
    });
  }

  async get(userId: string, roomId: string): Promise<RoomView> {
    await this.assertMember(userId, roomId);
    return this.load(this.db.manager, roomId);
  }

  /** The user's rooms, newest activity first, a page at a time (keyset on activity, id). */
  async list(
    userId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<RoomView & { unreadCount: number }>> {
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const rows = rowsOf<RoomRow & { unread_count: number | string }>(
      await this.db.query(
        `SELECT ${ROOM_COLUMNS},
           (SELECT count(*) FROM messages msg
             WHERE msg.room_id = r.id AND msg.seq > me.last_read_seq AND msg.sender_id <> me.user_id) AS unread_count
         FROM room_members me JOIN rooms r ON r.id = me.room_id
         WHERE me.user_id = $1
           AND ($2::timestamptz IS NULL OR (r.last_activity_at, r.id) < ($2::timestamptz, $3::uuid))
         ORDER BY r.last_activity_at DESC, r.id DESC
         LIMIT $4`,
        [userId, after?.at ?? null, after?.id ?? null, limit + 1],
      ),
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({ ...toRoomView(row), unreadCount: Number(row.unread_count) })),
      nextCursor:
        rows.length > limit && last !== undefined
          ? encodeCursor({ at: last.activity_key, id: last.id })
          : null,
    };
  }

  async addMember(callerId: string, roomId: string, userId: string): Promise<RoomView> {
    const room = await this.assertMember(callerId, roomId);
    if (room.kind === 'direct')
      throw new BadRequestException('members cannot be added to a direct room');
    const user = rowsOf(await this.db.query(`SELECT 1 FROM users WHERE id = $1`, [userId]));
    if (user.length === 0) throw new NotFoundException('user not found');
    await this.consumeRoomAllowance(callerId);
    return this.db.transaction(async (tx) => {
      // The room's row lock makes concurrent additions take turns, so the cap holds exactly.
      await tx.query(`SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE`, [roomId]);
      const [state] = rowsOf<{ members: number; present: boolean }>(
        await tx.query(
          `SELECT count(*)::int AS members, bool_or(user_id = $2) AS present
           FROM room_members WHERE room_id = $1`,
          [roomId, userId],
        ),
      );
      if (state.present !== true) {
        if (state.members >= this.config.chat.maxRoomMembers) throw this.roomFull();
        await tx.query(`INSERT INTO room_members (room_id, user_id) VALUES ($1, $2)`, [
          roomId,
          userId,
        ]);
      }
      return this.load(tx, roomId);
    });
  }

  async leave(userId: string, roomId: string): Promise<void> {
    await this.assertMember(userId, roomId);
    await this.db.query(`DELETE FROM room_members WHERE room_id = $1 AND user_id = $2`, [
      roomId,
      userId,
    ]);
    this.bus.publish('chat.member-left', { roomId, userId });
  }

  /** 404 when the room does not exist, 403 when the user is not a member. */
  async assertMember(userId: string, roomId: string): Promise<{ kind: RoomKind; lastSeq: number }> {
    const rows = rowsOf<{ kind: RoomKind; last_seq: string | number; member: boolean }>(
      await this.db.query(
        `SELECT r.kind, r.last_seq, EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = $2) AS member
         FROM rooms r WHERE r.id = $1`,
        [roomId, userId],
      ),
    );
    if (rows.length === 0) throw new NotFoundException('room not found');
    if (!rows[0].member) throw new ForbiddenException('not a member of this room');
    return { kind: rows[0].kind, lastSeq: Number(rows[0].last_seq) };
  }

  /**
   * Rooms of a user that get presence events: those of at most PRESENCE_MAX_ROOM_SIZE members
   * (in a big room, every arrival told to every member is O(members^2) events). Counting stops
   * past the cap, so a huge room costs no more than a small one here.
   */
  async presenceRoomIdsOf(userId: string): Promise<string[]> {
    const max = this.config.chat.presenceMaxRoomSize;
    const rows = rowsOf<{ room_id: string }>(
      await this.db.query(
        `SELECT m.room_id FROM room_members m
         WHERE m.user_id = $1
           AND (SELECT count(*) FROM (
                 SELECT 1 FROM room_members x WHERE x.room_id = m.room_id LIMIT $2::int + 1) capped) <= $2::int`,
        [userId, max],
      ),
    );
    return rows.map((r) => r.room_id);
  }

  /** Members with their names, for clients that show who is who. */
  /** A room's members in the order they joined, a page at a time, with their names. */
  async members(
    userId: string,
    roomId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<RoomMember>> {
    await this.assertMember(userId, roomId);
    const after = cursor === undefined ? null : decodeCursor(cursor);
    const rows = rowsOf<{
      user_id: string;
      joined_at: Date;
      joined_key: string;
      username: string;
      display_name: string;
    }>(
      await this.db.query(
        `SELECT m.user_id, m.joined_at, m.joined_at::text AS joined_key, u.username, u.display_name
         FROM room_members m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = $1
           AND ($2::timestamptz IS NULL OR (m.joined_at, m.user_id) > ($2::timestamptz, $3::uuid))
         ORDER BY m.joined_at, m.user_id
         LIMIT $4`,
        [roomId, after?.at ?? null, after?.id ?? null, limit + 1],
      ),
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map((r) => ({
        userId: r.user_id,
        joinedAt: r.joined_at.toISOString(),
        username: r.username,
        displayName: r.display_name,
      })),
      nextCursor:
        rows.length > limit && last !== undefined
          ? encodeCursor({ at: last.joined_key, id: last.user_id })
          : null,
    };
  }

  async memberIds(roomId: string): Promise<string[]> {
    const rows = rowsOf<{ user_id: string }>(
      await this.db.query(`SELECT user_id FROM room_members WHERE room_id = $1`, [roomId]),
    );
    return rows.map((r) => r.user_id);
  }

  private async load(manager: EntityManager, roomId: string): Promise<RoomView> {
    const rows = rowsOf<RoomRow>(
      await manager.query(`SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.id = $1`, [roomId]),
    );
    if (rows.length === 0) throw new NotFoundException('room not found');
    return toRoomView(rows[0]);
  }
}
