/**
 * A call in a room. The service relays signalling only; media goes peer to peer (or through
 * TURN). `participants`: while the call is live, the users in it now; once it ended, everyone who
 * joined it.
 */
export interface CallView {
  id: string;
  roomId: string;
  startedBy: string;
  participants: string[];
  createdAt: string;
  endedAt: string | null;
}

/** One entry of RTCConfiguration.iceServers. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
}

export interface IceServersView {
  iceServers: IceServer[];
  /** How long TURN credentials in the list stay valid. */
  ttlSeconds: number;
}

export type SignalType = 'offer' | 'answer' | 'candidate';

/** An ICE candidate as RTCIceCandidate.toJSON() gives it. */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface CallRef {
  callId: string;
}

export interface SignalPayload {
  callId: string;
  /** A participant who joined the call (not the sender). */
  to: string;
  type: SignalType;
  /** With offer and answer; at most 16 KiB. */
  sdp?: string;
  /** With candidate; at most 2 KiB as JSON. */
  candidate?: IceCandidateInit;
}

/** What `to` receives: `from` is always the sender's own id, never taken from the payload. */
export interface SignalEvent {
  callId: string;
  from: string;
  type: SignalType;
  sdp?: string;
  candidate?: IceCandidateInit;
}

export interface CallRingEvent {
  call: CallView;
}

export interface CallMemberEvent {
  callId: string;
  userId: string;
}
