// The wire contract: every type a client sees, declared once. The server's handlers, the web
// client, the SDK (packages/client) and the tests import these; nothing re-declares them.
export * from './ack.contract';
export * from './calls.contract';
export * from './chat.contract';
export * from './notifications.contract';
export * from './push.contract';
export * from './socket.contract';
export * from './stocks.contract';
export * from './streams.contract';
export * from './webhooks.contract';
