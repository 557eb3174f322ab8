import {
  request,
  type CallView,
  type ChatSocket,
  type IceServer,
  type IceServersView,
  type SignalEvent,
} from '@realtime-service/client';
import { api } from './api';
import { $, el, inBackground } from './dom';

/** How long an acknowledgement may take before the call gives up on it. */
const ACK_TIMEOUT_MS = 10_000;

/**
 * One peer connection per other participant, negotiated the "perfect negotiation" way: both
 * sides may offer whenever they need to; when offers cross, the polite side (the one with the
 * greater user id) rolls its own back and answers, the impolite side ignores the other's offer.
 * So two participants who join at the same moment and both offer still connect.
 */
class Peer {
  readonly pc: RTCPeerConnection;
  private makingOffer = false;
  private ignoreOffer = false;

  constructor(
    readonly userId: string,
    private readonly polite: boolean,
    iceServers: IceServer[],
    local: MediaStream,
    private readonly send: (signal: Omit<SignalEvent, 'callId' | 'from'>) => Promise<void>,
    onTrack: (stream: MediaStream) => void,
    onState: (state: RTCPeerConnectionState) => void,
  ) {
    this.pc = new RTCPeerConnection({ iceServers });
    for (const track of local.getTracks()) this.pc.addTrack(track, local);
    this.pc.ontrack = ({ streams }) => {
      if (streams[0] !== undefined) onTrack(streams[0]);
    };
    this.pc.onconnectionstatechange = () => onState(this.pc.connectionState);
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate === null) return;
      const { sdpMid, sdpMLineIndex, usernameFragment } = candidate;
      inBackground(
        this.send({
          type: 'candidate',
          candidate: { candidate: candidate.candidate, sdpMid, sdpMLineIndex, usernameFragment },
        }),
      );
    };
    this.pc.onnegotiationneeded = () => inBackground(this.offer());
  }

  private async offer(): Promise<void> {
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      const sdp = this.pc.localDescription?.sdp;
      if (sdp !== undefined) await this.send({ type: 'offer', sdp });
    } finally {
      this.makingOffer = false;
    }
  }

  async receive(signal: SignalEvent): Promise<void> {
    if (signal.type === 'candidate') {
      try {
        if (signal.candidate !== undefined) await this.pc.addIceCandidate(signal.candidate);
      } catch (err) {
        // Candidates of an offer this side ignored fail to apply; that is expected.
        if (!this.ignoreOffer) throw err;
      }
      return;
    }
    const collision =
      signal.type === 'offer' && (this.makingOffer || this.pc.signalingState !== 'stable');
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    // The polite side's pending offer is rolled back implicitly by setRemoteDescription.
    await this.pc.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
    if (signal.type === 'offer') {
      await this.pc.setLocalDescription();
      const sdp = this.pc.localDescription?.sdp;
      if (sdp !== undefined) await this.send({ type: 'answer', sdp });
    }
  }

  close(): void {
    this.pc.close();
  }
}

/**
 * Calls in the open room: a call button, the ring of an incoming call (accept or decline), the
 * local and remote videos, hang up. The server relays the signalling; media goes between the
 * browsers.
 */
export class CallPanel {
  private call: CallView | null = null;
  private ringing: CallView | null = null;
  private local: MediaStream | null = null;
  private iceServers: IceServer[] = [];
  private readonly peers = new Map<string, Peer>();
  private roomId: string | null = null;

  constructor(
    private readonly socket: ChatSocket,
    private readonly me: { id: string },
    private readonly nameOf: (userId: string) => string,
  ) {
    $('call-start').addEventListener('click', () => inBackground(this.start()));
    $('call-accept').addEventListener('click', () => inBackground(this.accept()));
    $('call-decline').addEventListener('click', () => this.hideRing());
    $('call-hangup').addEventListener('click', () => inBackground(this.hangUp()));
    socket.on('call:ring', ({ call }) => {
      if (this.call === null) this.showRing(call);
    });
    socket.on('call:joined', ({ callId, userId }) => {
      if (callId === this.call?.id) this.status(`${this.nameOf(userId)} joined`);
    });
    socket.on('call:signal', (signal) => {
      if (signal.callId !== this.call?.id) return;
      inBackground(this.peerFor(signal.from).receive(signal));
    });
    socket.on('call:left', ({ callId, userId }) => {
      if (callId !== this.call?.id) return;
      this.dropPeer(userId);
      this.status(`${this.nameOf(userId)} left`);
      // Everyone else left: nothing to stay for (leaving ends the call for the server too).
      if (this.peers.size === 0) inBackground(this.hangUp());
    });
    socket.on('call:ended', ({ callId }) => {
      if (callId === this.ringing?.id) this.hideRing();
      if (callId === this.call?.id) this.teardown('call ended');
    });
    // A reconnected socket is a new socket: the server let the old one's seat go.
    socket.on('disconnect', () => {
      if (this.call !== null) this.teardown('disconnected');
    });
  }

  /** The room shown now: the call button is for it. */
  openRoom(roomId: string | null): void {
    this.roomId = roomId;
    ($('call-start') as HTMLButtonElement).disabled = roomId === null || this.call !== null;
  }

  private async start(): Promise<void> {
    if (this.roomId === null || this.call !== null) return;
    await this.media();
    const ack = await request(this.socket, 'call:start', { roomId: this.roomId }, ACK_TIMEOUT_MS);
    if (!ack.ok) return this.failed(ack.error.message);
    // The room had a live call already: join it instead.
    if (ack.call.startedBy !== this.me.id || !ack.call.participants.includes(this.me.id))
      return this.join(ack.call.id);
    this.iceServers = (await api<IceServersView>('/api/rtc/ice-servers')).iceServers;
    this.enter(ack.call);
    this.status('ringing…');
  }

  private async accept(): Promise<void> {
    const call = this.ringing;
    this.hideRing();
    if (call === null) return;
    await this.media();
    await this.join(call.id);
  }

  private async join(callId: string): Promise<void> {
    const ack = await request(this.socket, 'call:join', { callId }, ACK_TIMEOUT_MS);
    if (!ack.ok) return this.failed(ack.error.message);
    this.iceServers = ack.iceServers;
    this.enter(ack.call);
    // Connect to everyone already in it; they connect back as our offers (or theirs) arrive.
    for (const userId of ack.call.participants) if (userId !== this.me.id) this.peerFor(userId);
    this.status('connecting…');
  }

  private async hangUp(): Promise<void> {
    const call = this.call;
    this.teardown('call ended');
    if (call !== null)
      await request(this.socket, 'call:leave', { callId: call.id }, ACK_TIMEOUT_MS);
  }

  private enter(call: CallView): void {
    this.call = call;
    $('call').hidden = false;
    ($('call-start') as HTMLButtonElement).disabled = true;
    const video = $('call-local') as HTMLVideoElement;
    video.srcObject = this.local;
  }

  private peerFor(userId: string): Peer {
    let peer = this.peers.get(userId);
    if (peer !== undefined) return peer;
    const call = this.call;
    if (call === null || this.local === null) throw new Error('not in a call');
    peer = new Peer(
      userId,
      this.me.id > userId,
      this.iceServers,
      this.local,
      async (signal) => {
        const ack = await request(
          this.socket,
          'call:signal',
          { ...signal, callId: call.id, to: userId },
          ACK_TIMEOUT_MS,
        );
        if (!ack.ok && ack.error.code !== 'RATE_LIMITED') this.status(ack.error.message);
      },
      (stream) => this.showRemote(userId, stream),
      (state) => {
        document
          .querySelector(`[data-peer="${CSS.escape(userId)}"]`)
          ?.setAttribute('data-state', state);
        if (state === 'connected') this.status(`in a call with ${this.nameOf(userId)}`);
      },
    );
    this.peers.set(userId, peer);
    return peer;
  }

  private showRemote(userId: string, stream: MediaStream): void {
    let tile = document.querySelector<HTMLElement>(`[data-peer="${CSS.escape(userId)}"]`);
    if (tile === null) {
      const video = el('video') as HTMLVideoElement;
      video.autoplay = true;
      video.playsInline = true;
      tile = el('figure');
      tile.append(video, el('figcaption', this.nameOf(userId)));
      tile.dataset.peer = userId;
      tile.dataset.state = this.peers.get(userId)?.pc.connectionState ?? 'new';
      $('call-remotes').append(tile);
    }
    const video = tile.querySelector('video');
    if (video !== null && video.srcObject !== stream) video.srcObject = stream;
  }

  private dropPeer(userId: string): void {
    this.peers.get(userId)?.close();
    this.peers.delete(userId);
    document.querySelector(`[data-peer="${CSS.escape(userId)}"]`)?.remove();
  }

  private teardown(reason: string): void {
    for (const userId of [...this.peers.keys()]) this.dropPeer(userId);
    for (const track of this.local?.getTracks() ?? []) track.stop();
    this.local = null;
    this.call = null;
    $('call').hidden = true;
    ($('call-local') as HTMLVideoElement).srcObject = null;
    this.openRoom(this.roomId);
    this.status(reason);
  }

  private showRing(call: CallView): void {
    this.ringing = call;
    $('call-ring-text').textContent = `${this.nameOf(call.startedBy)} is calling`;
    $('call-ring').hidden = false;
  }

  private hideRing(): void {
    this.ringing = null;
    $('call-ring').hidden = true;
  }

  private async media(): Promise<void> {
    this.local ??= await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  }

  private failed(message: string): void {
    this.teardown(`call failed: ${message}`);
  }

  private status(text: string): void {
    $('call-status').textContent = text;
  }
}
