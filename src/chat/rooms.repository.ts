import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { Keyed, KeysetPosition } from '../common/page-cursor';
import { rowsOf, type Queryable } from '../database/rows';
import { webhookInsertSql, WebhookOutbox } from '../webhooks/webhook-outbox';
import {
  toRoomMember,
  toRoomView,
  type RoomKind,
  type RoomMember,
  type RoomMemberRow,
  type RoomRow,
  type RoomView,
} from './chat.views';

/** A Room names its first members only; the whole list is paged (`members`). */
export const ROOM_MEMBER_IDS_SHOWN = 100;

const ROOM_COLUMNS = `r.id, r.name, r.kind, r.last_seq, r.created_at, r.last_activity_at::text AS activity_key,
  (SELECT array_agg(f.user_id::text ORDER BY f.joined_at, f.user_id) FROM (
     SELECT m.user_id, m.joined_at FROM room_members m WHERE m.room_id = r.id
     ORDER BY m.joined_at, m.user_id LIMIT ${ROOM_MEMBER_IDS_SHOWN}) f) AS member_ids,
  (SELECT count(*) FROM room_members m WHERE m.room_id = r.id) AS member_count`;

interface ListedRoomRow extends RoomRow {
  /** last_activity_at as text, to the microsecond: the list's keyset. */
  activity_key: string;
  unread_count: number | string;
}

interface ListedMemberRow extends RoomMemberRow {
  /** joined_at as text, to the microsecond: the members page's keyset. */
  joined_key: string;
}

/** The `room.member_added` / `room.member_removed` webhook data of a room_members row. */
const MEMBER_EVENT_DATA = `jsonb_build_object('roomId', room_id, 'userId', user_id)`;

/**
 * Every way a member is added: these users (in this order of joining, those not members yet)
 * and a `room.member_added` webhook event for each one actually added, when $3 is true.
 */
const ADD_MEMBERS = `WITH added AS (
  INSERT INTO room_members (room_id, user_id)
  SELECT $1, u FROM unnest($2::uuid[]) WITH ORDINALITY AS t(u, i) ORDER BY i
  ON CONFLICT DO NOTHING
  RETURNING room_id, user_id
), hooked AS (
  ${webhookInsertSql('room.member_added', MEMBER_EVENT_DATA, 'added', '$3::boolean')}
)
SELECT count(*) AS added FROM added`;

/** A member leaves, with a `room.member_removed` webhook event when one was removed and $3 is true. */
const REMOVE_MEMBER = `WITH removed AS (
  DELETE FROM room_members WHERE room_id = $1 AND user_id = $2
  RETURNING room_id, user_id
), hooked AS (
  ${webhookInsertSql('room.member_removed', MEMBER_EVENT_DATA, 'removed', '$3::boolean')}
)
SELECT count(*) AS removed FROM removed`;

/** What a user may do in a room: its kind and counter, and whether the user is a member. */
export interface RoomAccess {
  kind: RoomKind;
  lastSeq: number;
  member: boolean;
}

/** The room after an addition, or `full` when the group room is at its cap (nothing added). */
export type AddMemberOutcome = { room: RoomView } | { full: true };

/**
 * Rooms and their members (rooms, room_members, and the read positions kept on membership).
 * Writes that read and then write several rows run in one transaction here; the rules (who may,
 * what is refused with which error) stay with RoomsService.
 */
@Injectable()
export class RoomsRepository {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly webhooks: WebhookOutbox,
  ) {}

  /**
   * A group room with these members (in this order of joining), or null when any of them is not
   * a user (then nothing is written). `creatorId` null: made by the team's backend (server API).
   */
  async createGroup(
    creatorId: string | null,
    name: string,
    members: string[],
  ): Promise<RoomView | null> {
    const room = await this.db.transaction(async (tx) => {
      const found = rowsOf<{ id: string }>(
        await tx.query(`SELECT id FROM users WHERE id = ANY($1::uuid[])`, [members]),
      );
      if (found.length !== members.length) return null;
      const [room] = rowsOf<{ id: string }>(
        await tx.query(
          `INSERT INTO rooms (name, kind, created_by) VALUES ($1, 'group', $2) RETURNING id`,
          [name, creatorId],
        ),
      );
      await this.addMembers(tx, room.id, members);
      return this.loadWith(tx, room.id);
    });
    this.webhooks.committed('room.member_added');
    return room;
  }

  /**
   * The one direct room of two users, both of them members (even if one left it earlier);
   * `created` is false when it already existed. Null when either is not a user.
   */
  async direct(
    userId: string,
    otherId: string,
  ): Promise<{ room: RoomView; created: boolean } | null> {
    const key = [userId, otherId].sort().join(':');
    const direct = await this.db.transaction(async (tx) => {
      const users = rowsOf<{ id: string; username: string }>(
        await tx.query(
          `SELECT id, username FROM users WHERE id = ANY($1::uuid[]) ORDER BY username`,
          [[userId, otherId]],
        ),
      );
      if (users.length !== 2) return null;
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
      // Either may have left it earlier: coming back is joining again.
      await this.addMembers(tx, roomId, [userId, otherId]);
      return { room: await this.loadWith(tx, roomId), created: inserted.length > 0 };
    });
    this.webhooks.committed('room.member_added');
    return direct;
  }

  /** Adds a user to a room of fewer than `maxMembers` (a member already is left as is). */
  addMember(roomId: string, userId: string, maxMembers: number): Promise<AddMemberOutcome> {
    return this.addMembersCapped(roomId, [userId], maxMembers);
  }

  /**
   * Adds users to a room, all or none: `full` when the new ones would take it past
   * `maxMembers` (members already are left as they are). The room's row lock makes concurrent
   * additions take turns, so the cap holds exactly.
   */
  async addMembersCapped(
    roomId: string,
    userIds: string[],
    maxMembers: number,
  ): Promise<AddMemberOutcome> {
    const outcome = await this.db.transaction(async (tx): Promise<AddMemberOutcome> => {
      await tx.query(`SELECT 1 FROM rooms WHERE id = $1 FOR UPDATE`, [roomId]);
      const [state] = rowsOf<{ members: number; fresh: number }>(
        await tx.query(
          `SELECT (SELECT count(*)::int FROM room_members WHERE room_id = $1) AS members,
             (SELECT count(*)::int FROM unnest($2::uuid[]) AS u
              WHERE NOT EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = $1 AND m.user_id = u)) AS fresh`,
          [roomId, userIds],
        ),
      );
      if (state.fresh > 0) {
        if (state.members + state.fresh > maxMembers) return { full: true };
        await this.addMembers(tx, roomId, userIds);
      }
      return { room: await this.loadWith(tx, roomId) };
    });
    this.webhooks.committed('room.member_added');
    return outcome;
  }

  /** Removes a member; false when the user was not one. */
  async removeMember(roomId: string, userId: string): Promise<boolean> {
    const [row] = rowsOf<{ removed: string | number }>(
      await this.db.query(REMOVE_MEMBER, [
        roomId,
        userId,
        this.webhooks.wants('room.member_removed'),
      ]),
    );
    this.webhooks.committed('room.member_removed');
    return Number(row?.removed ?? 0) > 0;
  }

  /**
   * A group room with a fixed id (the demo room), made by whoever asks first, and the user in it;
   * concurrent first asks agree on the one room.
   */
  async ensureGroupWith(roomId: string, name: string, userId: string): Promise<RoomView> {
    const room = await this.db.transaction(async (tx) => {
      await tx.query(
        `INSERT INTO rooms (id, name, kind) VALUES ($1, $2, 'group') ON CONFLICT (id) DO NOTHING`,
        [roomId, name],
      );
      await this.addMembers(tx, roomId, [userId]);
      return this.loadWith(tx, roomId);
    });
    this.webhooks.committed('room.member_added');
    return room;
  }

  /** Of these ids, the ones that are users. */
  async existingUsers(userIds: readonly string[]): Promise<string[]> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(`SELECT id FROM users WHERE id = ANY($1::uuid[])`, [userIds]),
    );
    return rows.map((r) => r.id);
  }

  /** Whether a user exists (a member to be added must be one). */
  async userExists(userId: string): Promise<boolean> {
    return rowsOf(await this.db.query(`SELECT 1 FROM users WHERE id = $1`, [userId])).length > 0;
  }

  /** The room's kind and counter and whether the user is a member; null when there is no room. */
  async access(roomId: string, userId: string): Promise<RoomAccess | null> {
    const [row] = rowsOf<{ kind: RoomKind; last_seq: string | number; member: boolean }>(
      await this.db.query(
        `SELECT r.kind, r.last_seq, EXISTS (SELECT 1 FROM room_members m WHERE m.room_id = r.id AND m.user_id = $2) AS member
         FROM rooms r WHERE r.id = $1`,
        [roomId, userId],
      ),
    );
    if (row === undefined) return null;
    return { kind: row.kind, lastSeq: Number(row.last_seq), member: row.member };
  }

  /** The room, or null when there is none. */
  load(roomId: string): Promise<RoomView | null> {
    return this.read(this.db, roomId);
  }

  /**
   * A user's rooms, newest activity first (keyset on activity, id), each with the messages from
   * others after the user's read position: `limit` rows after `after`.
   */
  async listFor(
    userId: string,
    after: KeysetPosition | null,
    limit: number,
  ): Promise<Keyed<RoomView & { unreadCount: number }>[]> {
    const rows = rowsOf<ListedRoomRow>(
      await this.db.query(
        `SELECT ${ROOM_COLUMNS},
           (SELECT count(*) FROM messages msg
             WHERE msg.room_id = r.id AND msg.seq > me.last_read_seq AND msg.sender_id IS DISTINCT FROM me.user_id) AS unread_count
         FROM room_members me JOIN rooms r ON r.id = me.room_id
         WHERE me.user_id = $1
           AND ($2::timestamptz IS NULL OR (r.last_activity_at, r.id) < ($2::timestamptz, $3::uuid))
         ORDER BY r.last_activity_at DESC, r.id DESC
         LIMIT $4`,
        [userId, after?.at ?? null, after?.id ?? null, limit],
      ),
    );
    return rows.map((row) => ({
      item: { ...toRoomView(row), unreadCount: Number(row.unread_count) },
      key: { at: row.activity_key, id: row.id },
    }));
  }

  /** A room's members in the order they joined (keyset on joined_at, user): `limit` after `after`. */
  async members(
    roomId: string,
    after: KeysetPosition | null,
    limit: number,
  ): Promise<Keyed<RoomMember>[]> {
    const rows = rowsOf<ListedMemberRow>(
      await this.db.query(
        `SELECT m.user_id, m.joined_at, m.joined_at::text AS joined_key, u.username, u.display_name
         FROM room_members m JOIN users u ON u.id = m.user_id
         WHERE m.room_id = $1
           AND ($2::timestamptz IS NULL OR (m.joined_at, m.user_id) > ($2::timestamptz, $3::uuid))
         ORDER BY m.joined_at, m.user_id
         LIMIT $4`,
        [roomId, after?.at ?? null, after?.id ?? null, limit],
      ),
    );
    return rows.map((row) => ({
      item: toRoomMember(row),
      key: { at: row.joined_key, id: row.user_id },
    }));
  }

  async memberIds(roomId: string): Promise<string[]> {
    const rows = rowsOf<{ user_id: string }>(
      await this.db.query(`SELECT user_id FROM room_members WHERE room_id = $1`, [roomId]),
    );
    return rows.map((r) => r.user_id);
  }

  /**
   * The user's rooms of at most `maxMembers` members. Counting stops past the cap, so a huge
   * room costs no more than a small one here.
   */
  async smallRoomIdsOf(userId: string, maxMembers: number): Promise<string[]> {
    const rows = rowsOf<{ room_id: string }>(
      await this.db.query(
        `SELECT m.room_id FROM room_members m
         WHERE m.user_id = $1
           AND (SELECT count(*) FROM (
                 SELECT 1 FROM room_members x WHERE x.room_id = m.room_id LIMIT $2::int + 1) capped) <= $2::int`,
        [userId, maxMembers],
      ),
    );
    return rows.map((r) => r.room_id);
  }

  /**
   * Moves a member's read position forward to `seq` (never back, never past the room's last
   * message). The new position, or null when it did not move (or the user is not a member).
   */
  async advanceReadPosition(roomId: string, userId: string, seq: number): Promise<number | null> {
    const [moved] = rowsOf<{ last_read_seq: string | number }>(
      await this.db.query(
        `UPDATE room_members m SET last_read_seq = LEAST($3::bigint, r.last_seq)
         FROM rooms r WHERE r.id = m.room_id AND m.room_id = $1 AND m.user_id = $2
           AND LEAST($3::bigint, r.last_seq) > m.last_read_seq
         RETURNING m.last_read_seq`,
        [roomId, userId, seq],
      ),
    );
    return moved === undefined ? null : Number(moved.last_read_seq);
  }

  private async addMembers(tx: Queryable, roomId: string, userIds: string[]): Promise<void> {
    await tx.query(ADD_MEMBERS, [roomId, userIds, this.webhooks.wants('room.member_added')]);
  }

  private async read(db: Queryable, roomId: string): Promise<RoomView | null> {
    const [row] = rowsOf<RoomRow>(
      await db.query(`SELECT ${ROOM_COLUMNS} FROM rooms r WHERE r.id = $1`, [roomId]),
    );
    return row === undefined ? null : toRoomView(row);
  }

  /** The room a write just made or locked (rooms are never deleted; a 404 if it were). */
  private async loadWith(db: Queryable, roomId: string): Promise<RoomView> {
    const room = await this.read(db, roomId);
    if (room === null) throw new NotFoundException('room not found');
    return room;
  }
}
