import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus } from '../bus/bus';
import { inBackground } from '../common/background';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { InjectConfig, type AppConfig } from '../config/app.config';
import type { AckOf, ServerToClientEvents } from '../contracts';
import { acknowledge, AckException, parsePayload } from '../realtime/ack';
import { RateWindow } from '../realtime/rate-window';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import type { AppSocket } from '../realtime/socket-data';
import type { SocketEventHandlers, SocketFeature } from '../realtime/socket-feature';
import { RoomRefDto } from '../chat/dto/chat.dto';
import type { CallSeat } from './call-participants.store';
import { CallsService } from './calls.service';
import { CallRefDto, MAX_CANDIDATE_BYTES, MAX_SDP_BYTES, SignalDto } from './dto/calls.dto';
import { IceServers } from './ice-servers';

/** Seats are refreshed well within their TTL (SEAT_TTL_MS). */
const REFRESH_MS = 10_000;

/**
 * Call signalling over the sockets. The service relays offers, answers and candidates between
 * the sockets that joined a call, wherever they are connected: every call event travels on its
 * recipient's user channel and is emitted here only to the recipient's sockets that joined the
 * call (rings and ends to all of the user's sockets).
 */
@Injectable()
export class CallsGateway implements SocketFeature, OnModuleDestroy {
  readonly name = 'calls';
  private readonly logger = new Logger('CallsGateway');
  /** The calls each local socket joined, and the local sockets in each call. */
  private readonly joinedBy = new WeakMap<AppSocket, Set<string>>();
  private readonly inCall = new Map<string, Set<AppSocket>>();
  private readonly signals: RateWindow;
  private readonly unsubscribers: Array<() => void> = [];
  private readonly refresher: NodeJS.Timeout;

  readonly events: SocketEventHandlers = {
    'call:start': (socket, payload) => this.start(socket, payload),
    'call:join': (socket, payload) => this.join(socket, payload),
    'call:signal': (socket, payload) => this.signal(socket, payload),
    'call:leave': (socket, payload) => this.leave(socket, payload),
  };

  constructor(
    private readonly calls: CallsService,
    private readonly ice: IceServers,
    private readonly edge: RealtimeGateway,
    private readonly bus: Bus,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.signals = new RateWindow(config.calls.signalsPerSecond, 1000);
    edge.register(this);
    this.unsubscribers.push(
      bus.subscribe('call.ring', ({ userIds, call }) => {
        for (const userId of userIds) edge.toUser(userId, 'call:ring', { call });
      }),
      bus.subscribe('call.joined', ({ userIds, callId, userId }) =>
        this.toParticipants(callId, userIds, 'call:joined', { callId, userId }),
      ),
      bus.subscribe('call.left', ({ userIds, callId, userId }) =>
        this.toParticipants(callId, userIds, 'call:left', { callId, userId }),
      ),
      bus.subscribe('call.signal', ({ to, signal }) =>
        this.toParticipants(signal.callId, [to], 'call:signal', signal),
      ),
      bus.subscribe('call.ended', ({ userIds, callId }) => {
        for (const userId of userIds) edge.toUser(userId, 'call:ended', { callId });
        for (const socket of this.inCall.get(callId) ?? [])
          this.joinedBy.get(socket)?.delete(callId);
        this.inCall.delete(callId);
      }),
    );
    this.refresher = setInterval(
      () =>
        inBackground(this.logger, 'call seat refresh', () => this.calls.refresh(this.localSeats())),
      REFRESH_MS,
    );
    this.refresher.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refresher);
    for (const off of this.unsubscribers) off();
  }

  /** A socket that goes away leaves every call it joined. */
  released(socket: AppSocket): void {
    for (const callId of this.joinedBy.get(socket) ?? []) {
      const seat = this.forget(socket, callId);
      inBackground(this.logger, 'call leave on disconnect', () => this.calls.leave(seat));
    }
  }

  private start(socket: AppSocket, payload: unknown): Promise<AckOf<'call:start'>> {
    return acknowledge(async () => {
      const { roomId } = await parsePayload(RoomRefDto, payload);
      const userId = await this.edge.activeUser(socket);
      const { call, joined } = await this.calls.start(userId, roomId, this.seatOf(socket, ''));
      if (joined) this.keep(socket, call.id);
      return { call };
    });
  }

  private join(socket: AppSocket, payload: unknown): Promise<AckOf<'call:join'>> {
    return acknowledge(async () => {
      const { callId } = await parsePayload(CallRefDto, payload);
      const userId = await this.edge.activeUser(socket);
      const call = await this.calls.join(userId, this.seatOf(socket, callId));
      this.keep(socket, callId);
      return { call, iceServers: this.ice.forUser(userId).iceServers };
    });
  }

  private signal(socket: AppSocket, payload: unknown): Promise<AckOf<'call:signal'>> {
    return acknowledge(async () => {
      // Before anything else: a flood costs no validation, no Redis and nothing on the other side.
      if (!this.signals.allow(socket.id))
        throw new TooManyRequestsException(1000, 'too many signals; slow down');
      const dto = await parsePayload(SignalDto, payload);
      if (
        dto.type === 'candidate'
          ? dto.candidate === undefined || dto.sdp !== undefined
          : dto.sdp === undefined || dto.candidate !== undefined
      )
        throw new AckException(
          'VALIDATION',
          'an offer or answer carries sdp, a candidate carries candidate',
        );
      if (dto.sdp !== undefined && Buffer.byteLength(dto.sdp) > MAX_SDP_BYTES)
        throw new AckException('VALIDATION', `sdp must be at most ${MAX_SDP_BYTES} bytes`);
      if (
        dto.candidate !== undefined &&
        Buffer.byteLength(JSON.stringify(dto.candidate)) > MAX_CANDIDATE_BYTES
      )
        throw new AckException(
          'VALIDATION',
          `candidate must be at most ${MAX_CANDIDATE_BYTES} bytes`,
        );
      const from = await this.edge.activeUser(socket);
      if (this.joinedBy.get(socket)?.has(dto.callId) !== true)
        throw new AckException('FORBIDDEN', 'join the call before signalling');
      await this.calls.assertSignalTarget(dto.callId, from, dto.to);
      this.bus.publish('call.signal', {
        to: dto.to,
        signal: {
          callId: dto.callId,
          from,
          type: dto.type,
          ...(dto.sdp !== undefined ? { sdp: dto.sdp } : {}),
          ...(dto.candidate !== undefined ? { candidate: { ...dto.candidate } } : {}),
        },
      });
      return {};
    });
  }

  private leave(socket: AppSocket, payload: unknown): Promise<AckOf<'call:leave'>> {
    return acknowledge(async () => {
      const { callId } = await parsePayload(CallRefDto, payload);
      await this.edge.activeUser(socket);
      if (this.joinedBy.get(socket)?.has(callId) === true)
        await this.calls.leave(this.forget(socket, callId));
      return {};
    });
  }

  private toParticipants<E extends 'call:joined' | 'call:left' | 'call:signal'>(
    callId: string,
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    for (const socket of this.inCall.get(callId) ?? [])
      if (userIds.includes(socket.data.user.userId)) socket.emit(event, ...args);
  }

  private seatOf(socket: AppSocket, callId: string): CallSeat {
    return {
      callId,
      userId: socket.data.user.userId,
      socketKey: `${this.config.instanceId}:${socket.id}`,
    };
  }

  /**
   * Remembers a seat taken for the socket; one whose socket closed while the seat was taken gives
   * it back at once (the socket's release has already run).
   */
  private keep(socket: AppSocket, callId: string): void {
    if (!socket.connected) {
      inBackground(this.logger, 'call leave after close', () =>
        this.calls.leave(this.seatOf(socket, callId)),
      );
      throw new AckException('UNAUTHORIZED', 'the socket has closed');
    }
    this.remember(socket, callId);
  }

  private remember(socket: AppSocket, callId: string): void {
    let calls = this.joinedBy.get(socket);
    if (calls === undefined) {
      calls = new Set();
      this.joinedBy.set(socket, calls);
    }
    calls.add(callId);
    let sockets = this.inCall.get(callId);
    if (sockets === undefined) {
      sockets = new Set();
      this.inCall.set(callId, sockets);
    }
    sockets.add(socket);
  }

  private forget(socket: AppSocket, callId: string): CallSeat {
    this.joinedBy.get(socket)?.delete(callId);
    const sockets = this.inCall.get(callId);
    sockets?.delete(socket);
    if (sockets?.size === 0) this.inCall.delete(callId);
    return this.seatOf(socket, callId);
  }

  private localSeats(): CallSeat[] {
    const seats: CallSeat[] = [];
    for (const [callId, sockets] of this.inCall)
      for (const socket of sockets) seats.push(this.seatOf(socket, callId));
    return seats;
  }
}
