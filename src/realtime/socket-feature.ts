import type { AckOf, ClientEvent } from '../contracts';
import type { AppSocket } from './socket-data';

/** The handlers of client events: the untrusted payload in, the event's acknowledgement out. */
export type SocketEventHandlers = {
  [E in ClientEvent]?: (socket: AppSocket, payload: unknown) => Promise<AckOf<E>>;
};

/**
 * What a feature plugs into the socket edge (RealtimeGateway). The edge owns connections and
 * rooms; features only answer their events and react to a socket's life, in the order they
 * registered.
 */
export interface SocketFeature {
  readonly name: string;
  readonly events?: SocketEventHandlers;
  /**
   * During the handshake, once the user is known and before the socket counts as connected. A
   * rejection refuses the handshake: its `connectErrorMessage` (or 'internal error') is what the
   * client's `connect_error` says. Whatever an admitted socket holds is let go in `released`.
   */
  admit?(socket: AppSocket): Promise<void>;
  /** The socket is connected and in its user's and login's rooms. */
  connected?(socket: AppSocket): void;
  /**
   * The socket is gone: disconnected, or admitted but never connected (its client left during
   * the handshake). Called once per admitted socket, in reverse registration order.
   */
  released?(socket: AppSocket): void;
  /** The first local socket joined a chat room / the last one left it. */
  roomOpened?(roomId: string): void;
  roomClosed?(roomId: string): void;
}

/** A refusal whose message the client sees in `connect_error`. */
export class HandshakeRefused extends Error {
  constructor(readonly connectErrorMessage: string) {
    super(connectErrorMessage);
  }
}
