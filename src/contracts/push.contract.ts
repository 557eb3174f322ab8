/** `GET /api/push/vapid-public-key`: the applicationServerKey for PushManager.subscribe. */
export interface VapidPublicKey {
  /** base64url of the uncompressed P-256 point (65 bytes). */
  publicKey: string;
}

/** A browser's PushSubscription as registered (`POST /api/push/subscriptions`). */
export interface PushSubscriptionView {
  id: string;
  endpoint: string;
  createdAt: string;
}

/**
 * `GET`/`PUT /api/me/notification-preferences`: per notification kind, whether it is pushed to
 * the user's subscriptions when the user is offline. A kind not listed is pushed.
 */
export interface NotificationPreferences {
  push: Record<string, boolean>;
}
