import {
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  NotFoundException,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Bus } from '../bus/bus';
import { inBackground } from '../common/background';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { CallView } from '../contracts';
import { RoomsService } from '../chat/rooms.service';
import { CallParticipantsStore, type CallSeat } from './call-participants.store';
import { CallsRepository, type CallRecord, type EndedCall } from './calls.repository';

/** A call none of whose seats is alive this long after its start was left by a dead instance. */
const ORPHAN_AFTER_MS = 10_000;
const SWEEP_BATCH = 200;

/**
 * The rules of calls: members only, one live call per room, a call ends when its last
 * participant leaves or when nobody joined it in time. Live seats are in the participants store,
 * the record in Postgres; every end is decided by one conditional update, so it is announced
 * once, whichever instance notices it.
 */
@Injectable()
export class CallsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Calls');
  private sweeper: NodeJS.Timeout | null = null;
  /** The sweep under way: one at a time, and shutdown waits for it before the pool closes. */
  private sweeping: Promise<void> | null = null;

  constructor(
    private readonly calls: CallsRepository,
    @Inject(CallParticipantsStore) private readonly seats: CallParticipantsStore,
    private readonly rooms: RoomsService,
    private readonly bus: Bus,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Every instance sweeps: the instance that started a call may be gone by its timeout.
    const every = Math.min(5000, Math.max(250, Math.floor(this.config.calls.ringTimeoutMs / 4)));
    this.sweeper = setInterval(() => {
      if (this.sweeping !== null) return;
      inBackground(this.logger, 'call sweep', () => {
        this.sweeping = this.sweep().finally(() => (this.sweeping = null));
        return this.sweeping;
      });
    }, every);
    this.sweeper.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    // Its failure is the interval's to log; here it only has to be over.
    await this.sweeping?.catch(() => undefined);
  }

  /**
   * Starts the room's call with the starter's seat, and rings every other member; when the room
   * already has a live call, returns that one (the caller may join it).
   */
  async start(
    userId: string,
    roomId: string,
    seat: CallSeat,
  ): Promise<{ call: CallView; joined: boolean }> {
    await this.rooms.assertMember(userId, roomId);
    for (let attempt = 0; attempt < 3; attempt++) {
      const created = await this.calls.create(roomId, userId);
      if (created !== null) {
        const { participants } = await this.seats.join({ ...seat, callId: created.id });
        const call = this.view(created, participants);
        const others = (await this.rooms.memberIds(roomId)).filter((m) => m !== userId);
        if (others.length > 0) this.bus.publish('call.ring', { userIds: others, call });
        return { call, joined: true };
      }
      const live = await this.calls.live(roomId);
      // Null: it ended between the two reads; try to start again.
      if (live !== null) return { call: await this.withSeats(live), joined: false };
    }
    throw new Error('could not start or find the live call of the room');
  }

  /** Takes the socket's seat in a live call of a room the user is a member of. */
  async join(userId: string, seat: CallSeat): Promise<CallView> {
    const record = await this.calls.get(seat.callId);
    if (record === null) throw new NotFoundException('call not found');
    await this.rooms.assertMember(userId, record.roomId);
    if (record.endedAt !== null) throw new NotFoundException('the call has ended');
    const { participants: after, wasIn } = await this.seats.join(seat);
    await this.calls.addParticipant(seat.callId, userId);
    if (!wasIn) {
      const others = after.filter((p) => p !== userId);
      if (others.length > 0)
        this.bus.publish('call.joined', { userIds: others, callId: seat.callId, userId });
    }
    return this.view(record, after);
  }

  /** A signal may go only to another participant who has joined (the sender's seat is checked by the edge). */
  async assertSignalTarget(callId: string, from: string, to: string): Promise<void> {
    if (to === from) throw new ForbiddenException('a signal goes to another participant');
    const participants = await this.seats.participants(callId);
    if (!participants.includes(to))
      throw new ForbiddenException('the target has not joined the call');
  }

  /** Gives a socket's seat up; the last participant out ends the call. */
  async leave(seat: CallSeat): Promise<void> {
    const after = await this.seats.leave(seat);
    if (!after.includes(seat.userId) && after.length > 0)
      this.bus.publish('call.left', { userIds: after, callId: seat.callId, userId: seat.userId });
    if (after.length === 0) await this.end(seat.callId);
  }

  /** Keeps this instance's seats alive. */
  refresh(seats: readonly CallSeat[]): Promise<void> {
    return this.seats.refresh(seats);
  }

  async get(userId: string, callId: string): Promise<CallView> {
    const record = await this.calls.get(callId);
    if (record === null) throw new NotFoundException('call not found');
    await this.rooms.assertMember(userId, record.roomId);
    return this.withSeats(record);
  }

  async forRoom(userId: string, roomId: string, limit: number): Promise<CallView[]> {
    await this.rooms.assertMember(userId, roomId);
    return Promise.all((await this.calls.forRoom(roomId, limit)).map((r) => this.withSeats(r)));
  }

  /** Ends calls nobody answered in time, and calls whose every seat lapsed (their instances died). */
  async sweep(): Promise<void> {
    for (const ended of await this.calls.endUnanswered(this.config.calls.ringTimeoutMs))
      await this.announceEnd(ended);
    for (const callId of await this.calls.liveOlderThan(ORPHAN_AFTER_MS, SWEEP_BATCH))
      if ((await this.seats.participants(callId)).length === 0) await this.end(callId);
  }

  private async end(callId: string): Promise<void> {
    const ended = await this.calls.end(callId);
    if (ended !== null) await this.announceEnd(ended);
  }

  private async announceEnd(ended: EndedCall): Promise<void> {
    await this.seats.clear(ended.id);
    const members = await this.rooms.memberIds(ended.roomId);
    if (members.length > 0) this.bus.publish('call.ended', { userIds: members, callId: ended.id });
  }

  /** Live: who is in it now; ended: who joined it. */
  private async withSeats(record: CallRecord): Promise<CallView> {
    if (record.endedAt !== null) return this.view(record, record.joined);
    return this.view(record, await this.seats.participants(record.id));
  }

  private view(record: CallRecord, participants: string[]): CallView {
    return {
      id: record.id,
      roomId: record.roomId,
      startedBy: record.startedBy,
      participants,
      createdAt: record.createdAt,
      endedAt: record.endedAt,
    };
  }
}
