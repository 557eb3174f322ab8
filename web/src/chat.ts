import {
  AckTimeoutError,
  ChatClient,
  type ChatSocket,
  type MessageView,
  type RoomView,
} from '@realtime-service/client';
import { api } from './api';
import { $, el, input, onSubmit, inBackground } from './dom';

/** A room of the caller's list (`GET /api/rooms` adds the unread count). */
type Room = RoomView & { unreadCount?: number };
interface Member {
  userId: string;
  username: string;
}

/**
 * Rooms and the open conversation. Messages are kept by seq, so live events, history and
 * catch-up after a reconnect merge without duplicates or gaps.
 */
export class ChatPanel {
  private rooms: Room[] = [];
  private current: Room | null = null;
  private readonly messages = new Map<number, MessageView>();
  private lastSeq = 0;
  private names = new Map<string, string>();
  private online = new Set<string>();
  private typing = new Map<string, number>();
  private typingSent = 0;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  /** The read position last sent, and the pending send: one read a second at most, forward only. */
  private readSent = 0;
  private readTimer: ReturnType<typeof setTimeout> | null = null;
  /** A pending refresh of the room list (unread counts) after messages in other rooms. */
  private roomsTimer: ReturnType<typeof setTimeout> | null = null;

  private readonly chat: ChatClient;
  private demoTried = false;
  /** Told whenever a room is opened (the call button follows the open room). */
  onRoomOpened: (roomId: string) => void = () => undefined;

  constructor(
    private readonly socket: ChatSocket,
    private readonly me: { id: string; username: string },
  ) {
    this.chat = new ChatClient(socket);
    socket.on('connect', () => inBackground(this.rejoin()));
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.markReadSoon();
    });
    socket.on('message', (m) => this.onMessage(m));
    socket.on('typing', (e) => {
      if (e.roomId !== this.current?.id) return;
      if (e.isTyping) this.typing.set(e.userId, Date.now());
      else this.typing.delete(e.userId);
      this.renderTyping();
    });
    socket.on('read', (e) => {
      if (e.roomId !== this.current?.id || e.userId === this.me.id) return;
      $('receipts').textContent = `${this.name(e.userId)} read up to #${e.seq}`;
    });
    socket.on('presence', (e) => {
      if (e.roomId !== this.current?.id) return;
      if (e.online) this.online.add(e.userId);
      else this.online.delete(e.userId);
      this.renderOnline();
    });
    setInterval(() => this.renderTyping(), 1000);

    onSubmit('new-room', async () => {
      const room = await api<Room>('/api/rooms', { body: { name: input('room-name').value } });
      input('room-name').value = '';
      await this.loadRooms();
      await this.open(room.id);
    });
    onSubmit('new-direct', async () => {
      try {
        const user = await api<{ id: string }>(
          `/api/users/lookup?username=${encodeURIComponent(input('direct-user').value.trim())}`,
        );
        const room = await api<Room>('/api/rooms/direct', { body: { userId: user.id } });
        input('direct-user').value = '';
        await this.loadRooms();
        await this.open(room.id);
      } catch (err) {
        $('rooms-error').textContent = err instanceof Error ? err.message : String(err);
      }
    });
    onSubmit('add-member', async () => {
      if (this.current === null) return;
      const user = await api<{ id: string }>(
        `/api/users/lookup?username=${encodeURIComponent(input('member').value.trim())}`,
      );
      await api(`/api/rooms/${this.current.id}/members`, { body: { userId: user.id } });
      input('member').value = '';
      await this.loadMembers();
    });
    onSubmit('send', async () => {
      const box = input('body');
      const body = box.value;
      if (this.current === null || body.trim() === '') return;
      box.value = '';
      const clientMsgId = crypto.randomUUID();
      // Resent with the same clientMsgId until acknowledged: never lost, never doubled.
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          const ack = await this.chat.send({ roomId: this.current.id, body, clientMsgId });
          if (ack.ok) return this.onMessage(ack.message);
          $('rooms-error').textContent = ack.error.message;
          return;
        } catch (err) {
          if (!(err instanceof AckTimeoutError)) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    });
    input('body').addEventListener('input', () => this.sendTyping());
  }

  async loadRooms(): Promise<void> {
    let { items } = await api<{ items: Room[] }>('/api/rooms');
    // First run with DEMO_MODE on: a shared demo room to try chat in at once.
    if (items.length === 0 && !this.demoTried) {
      this.demoTried = true;
      const demo = await api<{ enabled: boolean }>('/api/demo');
      if (demo.enabled) {
        await api<Room>('/api/demo/room', { method: 'POST' });
        items = (await api<{ items: Room[] }>('/api/rooms')).items;
      }
    }
    this.rooms = items;
    $('rooms-empty').hidden = items.length > 0;
    const list = $('rooms');
    list.replaceChildren(
      ...items.map((room) => {
        const li = el('li', room.name, room.id === this.current?.id ? 'active' : undefined);
        li.dataset.roomId = room.id;
        if ((room.unreadCount ?? 0) > 0 && room.id !== this.current?.id)
          li.append(el('span', String(room.unreadCount), 'unread'));
        li.addEventListener('click', () => inBackground(this.open(room.id)));
        return li;
      }),
    );
  }

  async open(roomId: string): Promise<void> {
    if (this.current !== null && this.current.id !== roomId)
      await this.chat.leave({ roomId: this.current.id });
    this.current =
      this.rooms.find((r) => r.id === roomId) ?? (await api<Room>(`/api/rooms/${roomId}`));
    this.messages.clear();
    this.lastSeq = 0;
    this.readSent = 0;
    this.typing.clear();
    $('messages').replaceChildren();
    $('receipts').textContent = '';
    $('room-title').textContent = this.current.name;
    $('chat-empty').hidden = true;
    this.onRoomOpened(roomId);
    input('body').disabled = false;
    ($('send-btn') as HTMLButtonElement).disabled = false;
    await this.loadMembers();
    // Latest page of history, then subscribe and catch up from it.
    const { items } = await api<{ items: MessageView[] }>(`/api/rooms/${roomId}/messages?limit=50`);
    items.forEach((m) => this.onMessage(m));
    await this.rejoin();
    await this.loadRooms();
  }

  private async rejoin(): Promise<void> {
    const room = this.current;
    if (room === null || !this.socket.connected) return;
    const join = await this.chat.join({ roomId: room.id });
    if (!join.ok) return;
    for (let hasMore = true; hasMore && this.lastSeq < join.lastSeq;) {
      const sync = await this.chat.sync({ roomId: room.id, afterSeq: this.lastSeq, limit: 200 });
      if (!sync.ok) break;
      sync.messages.forEach((m) => this.onMessage(m));
      hasMore = sync.hasMore;
    }
    const presence = await this.chat.presence({ roomId: room.id });
    if (presence.ok) this.online = new Set(presence.online);
    this.renderOnline();
  }

  private async loadMembers(): Promise<void> {
    if (this.current === null) return;
    // Names of the first 200 members by join order; anyone else shows as a short id.
    const { items } = await api<{ items: Member[] }>(
      `/api/rooms/${this.current.id}/members?limit=200`,
    );
    for (const m of items) this.names.set(m.userId, m.username);
    this.renderOnline();
  }

  private onMessage(m: MessageView): void {
    if (m.roomId !== this.current?.id) {
      this.refreshRoomsSoon(); // another room: its unread count changed
      return;
    }
    if (this.messages.has(m.seq)) return;
    this.messages.set(m.seq, m);
    this.lastSeq = Math.max(this.lastSeq, m.seq);
    const item = el('li');
    item.dataset.seq = String(m.seq);
    if (m.senderId === null) {
      // Posted by the team's backend: no sender to name.
      item.classList.add('system');
      item.append(el('span', 'system', 'sender'), el('span', m.body, 'text'));
    } else {
      this.typing.delete(m.senderId);
      item.append(el('span', this.name(m.senderId), 'sender'), el('span', m.body, 'text'));
    }
    // Insert in seq order.
    const list = $('messages');
    const after = Array.from(list.children).find(
      (c) => Number((c as HTMLElement).dataset.seq) > m.seq,
    );
    list.insertBefore(item, after ?? null);
    list.scrollTop = list.scrollHeight;
    this.markReadSoon();
  }

  /**
   * Tells the server how far the user has read: not for every message rendered (a busy room
   * would send one event per message), but at most once a second, only when the position moved
   * and the page is visible.
   */
  private markReadSoon(): void {
    if (this.readTimer !== null) return;
    this.readTimer = setTimeout(() => {
      this.readTimer = null;
      const room = this.current;
      if (room === null || this.lastSeq <= this.readSent) return;
      if (document.visibilityState !== 'visible') return; // sent when the page is shown again
      this.readSent = this.lastSeq;
      inBackground(this.chat.read({ roomId: room.id, seq: this.lastSeq }));
    }, 1000);
  }

  /** Reloads the room list once for a burst of messages in other rooms. */
  private refreshRoomsSoon(): void {
    if (this.roomsTimer !== null) return;
    this.roomsTimer = setTimeout(() => {
      this.roomsTimer = null;
      inBackground(this.loadRooms());
    }, 2000);
  }

  private sendTyping(): void {
    if (this.current === null) return;
    const now = Date.now();
    if (now - this.typingSent > 2000) {
      this.typingSent = now;
      inBackground(this.chat.typing({ roomId: this.current.id, isTyping: true }));
    }
    if (this.typingTimer) clearTimeout(this.typingTimer);
    const roomId = this.current.id;
    this.typingTimer = setTimeout(() => {
      this.typingSent = 0;
      inBackground(this.chat.typing({ roomId, isTyping: false }));
    }, 3000);
  }

  private renderTyping(): void {
    const now = Date.now();
    for (const [user, at] of this.typing) if (now - at > 5000) this.typing.delete(user);
    const who = [...this.typing.keys()].map((u) => this.name(u));
    $('typing').textContent =
      who.length === 0 ? '' : `${who.join(', ')} ${who.length === 1 ? 'is' : 'are'} typing…`;
  }

  private renderOnline(): void {
    $('online').textContent =
      this.online.size === 0
        ? ''
        : `online: ${[...this.online].map((u) => this.name(u)).join(', ')}`;
  }

  /** A member's username as far as this client knows it (a short id otherwise). */
  name(userId: string): string {
    return userId === this.me.id
      ? this.me.username
      : (this.names.get(userId) ?? userId.slice(0, 8));
  }
}
