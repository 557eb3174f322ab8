import type { CallView } from './calls.contract';
import type { MessageView } from './chat.contract';

/** Every event type a webhook receiver can get; `WEBHOOK_EVENTS` picks among these. */
export const WEBHOOK_EVENT_TYPES = [
  'message.created',
  'room.member_added',
  'room.member_removed',
  'notification.read',
  'call.started',
  'call.ended',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export interface RoomMemberEventData {
  roomId: string;
  userId: string;
}

/** The `data` of each event type. */
export interface WebhookEventData {
  'message.created': { message: MessageView };
  'room.member_added': RoomMemberEventData;
  'room.member_removed': RoomMemberEventData;
  'notification.read': { userId: string; notificationId: string };
  'call.started': { call: CallView };
  'call.ended': { call: CallView };
}

/**
 * The body of every webhook POST. `id` is the event's, the same on every attempt (and the
 * `webhook-id` header); `createdAt` is when the change that caused it committed.
 */
export type WebhookEvent<T extends WebhookEventType = WebhookEventType> = {
  [K in T]: { id: string; type: K; createdAt: string; data: WebhookEventData[K] };
}[T];

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One row of `GET /api/admin/webhooks/deliveries`. */
export interface WebhookDeliveryView {
  id: string;
  type: WebhookEventType;
  attempts: number;
  status: WebhookDeliveryStatus;
  lastError: string | null;
  /** When the next attempt is due; null once delivered or failed. */
  nextAttemptAt: string | null;
}
