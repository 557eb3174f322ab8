import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Bus, type Interest } from '../bus/bus';
import { inBackground } from '../common/background';
import { acknowledge, AckException, parsePayload, type Ack } from '../realtime/ack';
import { RateWindow } from '../realtime/rate-window';
import { RealtimeGateway } from '../realtime/realtime.gateway';
import { Sequencer } from '../realtime/sequencer';
import type { AppSocket } from '../realtime/socket-data';
import type { SocketEventHandlers, SocketFeature } from '../realtime/socket-feature';
import type { MessageView, RoomView } from './chat.views';
import { ChatService } from './chat.service';
import { RoomRefDto, SocketReadDto, SyncDto, TypingDto } from './dto/chat.dto';
import { parseSendPayload } from './dto/send-payload';
import { PresenceService } from './presence/presence.service';
import { RoomsService } from './rooms.service';

const GAP_TIMEOUT_MS = 250;
/** Typing indicators per user and room that reach others: at most this many a second. */
const TYPING_PER_SECOND = 2;

/**
 * Chat's socket events, plugged into the socket edge. Handlers validate, call the core and answer
 * through the acknowledgement; bus events are emitted to this instance's sockets in the room only
 * (the bus already reached every other instance), each encoded once per room by the broadcast.
 */
@Injectable()
export class ChatGateway implements SocketFeature, OnModuleDestroy {
  readonly name = 'chat';
  private readonly logger = new Logger('ChatGateway');
  private readonly unsubscribers: Array<() => void> = [];
  /**
   * Typing is throttled where it is sent (so a chatty client costs no bus traffic) and again where
   * it is delivered (so the limit holds for a user typing through several instances at once).
   */
  private readonly typingSent = new RateWindow(TYPING_PER_SECOND, 1000);
  private readonly typingDelivered = new RateWindow(TYPING_PER_SECOND, 1000);
  /** The room channels this instance holds: one per room with a local socket in it. */
  private readonly roomInterests = new Map<string, Interest>();
  /** Orders each room's messages for this instance's sockets; see Sequencer. */
  private readonly messages = new Sequencer<MessageView>({
    gapTimeoutMs: GAP_TIMEOUT_MS,
    fetch: (roomId, afterSeq, beforeSeq, limit) =>
      this.chat.range(roomId, afterSeq, beforeSeq, limit),
    deliver: (roomId, message) => this.edge.toRoom(roomId, 'message', message),
  });

  readonly events: SocketEventHandlers = {
    'room:join': (socket, payload) => this.join(socket, payload),
    'room:leave': (socket, payload) => this.leave(socket, payload),
    'message:send': (socket, payload) => this.send(socket, payload),
    'messages:sync': (socket, payload) => this.sync(socket, payload),
    typing: (socket, payload) => this.typing(socket, payload),
    'room:read': (socket, payload) => this.read(socket, payload),
    'room:presence': (socket, payload) => this.roomPresence(socket, payload),
  };

  constructor(
    private readonly chat: ChatService,
    private readonly rooms: RoomsService,
    private readonly presence: PresenceService,
    private readonly bus: Bus,
    private readonly edge: RealtimeGateway,
  ) {
    edge.register(this);
    this.unsubscribers.push(
      this.bus.subscribe('chat.message', (message) => this.messages.push(message.roomId, message)),
      this.bus.onResync(() =>
        inBackground(this.logger, 'room resync', () => this.messages.resyncAll()),
      ),
      this.bus.subscribe('chat.typing', (e) => {
        if (!this.typingDelivered.allow(`${e.userId}:${e.roomId}`)) return;
        this.edge.toRoomExceptUser(e.roomId, e.userId, 'typing', e);
      }),
      this.bus.subscribe('chat.read', (e) => this.edge.toRoom(e.roomId, 'read', e)),
      this.bus.subscribe('chat.member-left', (e) =>
        this.edge.removeUserFromRoom(e.userId, e.roomId),
      ),
      this.bus.subscribe('presence', (e) =>
        this.edge.toRoom(e.roomId, 'presence', {
          roomId: e.roomId,
          userId: e.userId,
          online: e.online,
        }),
      ),
    );
  }

  onModuleDestroy(): void {
    for (const off of this.unsubscribers) off();
  }

  // A room's channel is held while a local socket is in the room; when the last one leaves, the
  // channel is let go and the room stops being tracked.
  roomOpened(roomId: string): void {
    if (!this.roomInterests.has(roomId))
      this.roomInterests.set(roomId, this.bus.interest('room', roomId));
  }

  roomClosed(roomId: string): void {
    this.roomInterests.get(roomId)?.release();
    this.roomInterests.delete(roomId);
    this.messages.untrack(roomId);
  }

  connected(socket: AppSocket): void {
    socket.data.present = true;
    this.presence.connected(socket.data.user.userId);
  }

  released(socket: AppSocket): void {
    // Presence counts connected sockets only; one admitted and never connected was not counted.
    if (socket.data.present !== true) return;
    socket.data.present = false;
    this.presence.disconnected(socket.data.user.userId);
  }

  join(socket: AppSocket, payload: unknown): Promise<Ack<{ room: RoomView; lastSeq: number }>> {
    return acknowledge(async () => {
      const { roomId } = await parsePayload(RoomRefDto, payload);
      const userId = await this.edge.activeUser(socket);
      await this.rooms.assertMember(userId, roomId); // a member, or the error ack
      // Gone while that was read: joining now would hold the room (and its channel) for a
      // socket whose cleanup already ran.
      if (!socket.connected) throw new AckException('UNAUTHORIZED', 'the socket has closed');
      await this.edge.joinRoom(socket, roomId);
      // Once the room's channel is subscribed (at once if it already was), read the room again,
      // so that every message after the lastSeq returned arrives live.
      await this.roomInterests.get(roomId)?.ready;
      const room = await this.rooms.get(userId, roomId);
      // Live delivery here starts after lastSeq; the client catches up to it with messages:sync.
      this.messages.track(roomId, room.lastSeq);
      return { room, lastSeq: room.lastSeq };
    });
  }

  leave(socket: AppSocket, payload: unknown): Promise<Ack> {
    return acknowledge(async () => {
      const { roomId } = await parsePayload(RoomRefDto, payload);
      await this.edge.leaveRoom(socket, roomId);
      return {};
    });
  }

  send(socket: AppSocket, payload: unknown): Promise<Ack<{ message: MessageView }>> {
    return acknowledge(async () => {
      const dto = await parseSendPayload(payload);
      const { message } = await this.chat.send(
        await this.edge.activeUser(socket),
        dto.roomId,
        dto.body,
        dto.clientMsgId,
      );
      return { message };
    });
  }

  sync(
    socket: AppSocket,
    payload: unknown,
  ): Promise<Ack<{ messages: MessageView[]; hasMore: boolean }>> {
    return acknowledge(async () => {
      const dto = await parsePayload(SyncDto, payload);
      const page = await this.chat.history(await this.edge.activeUser(socket), dto.roomId, {
        afterSeq: dto.afterSeq,
        limit: dto.limit ?? 50,
      });
      return { messages: page.items, hasMore: page.hasMore };
    });
  }

  typing(socket: AppSocket, payload: unknown): Promise<Ack> {
    return acknowledge(async () => {
      const { roomId, isTyping } = await parsePayload(TypingDto, payload);
      const userId = await this.edge.activeUser(socket);
      // A joined socket was authorised at join (and leaves on losing membership); others ask.
      if (!this.edge.inRoom(socket, roomId)) await this.rooms.assertMember(userId, roomId);
      // Over the limit: acknowledged, and dropped.
      if (this.typingSent.allow(`${userId}:${roomId}`))
        this.bus.publish('chat.typing', { roomId, userId, isTyping });
      return {};
    });
  }

  read(socket: AppSocket, payload: unknown): Promise<Ack> {
    return acknowledge(async () => {
      const { roomId, seq } = await parsePayload(SocketReadDto, payload);
      await this.chat.markRead(await this.edge.activeUser(socket), roomId, seq);
      return {};
    });
  }

  roomPresence(socket: AppSocket, payload: unknown): Promise<Ack<{ online: string[] }>> {
    return acknowledge(async () => {
      const { roomId } = await parsePayload(RoomRefDto, payload);
      await this.rooms.assertMember(await this.edge.activeUser(socket), roomId);
      const members = await this.rooms.memberIds(roomId);
      const online = await this.presence.online(members);
      return { online: members.filter((m) => online.has(m)) };
    });
  }
}
