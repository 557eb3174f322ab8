/** What an error acknowledgement's `code` can be; clients branch on these, never on `message`. */
export type AckErrorCode =
  | 'VALIDATION'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'BUSY'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export interface AckError {
  ok: false;
  /** `retryAfterMs` comes with `BUSY` (and `RATE_LIMITED`): when a retry may succeed. */
  error: { code: AckErrorCode; message: string; retryAfterMs?: number };
}

/** Every socket event is answered through its acknowledgement with one of these. */
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError;

/** The messages a refused Socket.IO handshake's `connect_error` carries. */
export type ConnectErrorMessage =
  /** No valid token or ticket, or the login ended: log in again. */
  | 'unauthorized'
  /** The database could not be reached: the client's reconnection tries again. */
  | 'unavailable'
  /** The user has as many sockets open as the limit allows. */
  | 'too many connections'
  | 'internal error';

/** The body of every HTTP error response. */
export interface HttpErrorBody {
  statusCode: number;
  error: string;
  /** Validation failures list every problem found. 429 and 503 also send `Retry-After`. */
  message: string | string[];
  /** Readiness only: each check's status. */
  details?: unknown;
}
