/**
 * @realtime-service/client: the service's wire contract (re-exported, never re-declared), a typed
 * Socket.IO client, the notification feed with transport fallback and resume by seq, and live
 * stock quotes. Runs in browsers and in Node 20+.
 */
export * from './contracts.js';
export {
  AckRefusedError,
  AckTimeoutError,
  ChatClient,
  connect,
  ConnectError,
  DEFAULT_ACK_TIMEOUT_MS,
  request,
  unwrapAck,
  waitForConnect,
  type AckOk,
  type ChatSocket,
  type ConnectOptions,
} from './socket.js';
export {
  FEED_TRANSPORTS,
  NotificationFeed,
  type FeedEvents,
  type FeedOptions,
  type FeedTransport,
} from './feed.js';
export {
  MAX_STREAM_SYMBOLS,
  StockStream,
  type StockEvents,
  type StockStreamOptions,
} from './stocks.js';
export { SeqCursor } from './cursor.js';
export { SseParser, type SseMessage } from './sse.js';
export { asNotificationLine, NdjsonParser } from './ndjson.js';
export { Backoff } from './backoff.js';
export { Emitter } from './emitter.js';
export { HttpError, NotServedError, type Credentials, type TokenSource } from './http.js';
export {
  type EventSourceConstructor,
  type EventSourceLike,
  type SseMode,
  type StreamOptions,
} from './streaming.js';
export { judge, type Verdict } from './supervisor.js';
