import type { NotificationPreferences } from '@realtime-service/client';
import { api, ApiError } from './api';
import { $, el, inBackground } from './dom';

/** The kinds the service publishes itself; a user may mute any of them for push. */
const KINDS: Array<[kind: string, label: string]> = [
  ['system', 'System messages'],
  ['weight_reminder', 'Weight reminders'],
  ['price_alert', 'Price alerts'],
  ['demo', 'Lab demos'],
];

const base64url = (buffer: ArrayBuffer | null): string =>
  buffer === null
    ? ''
    : btoa(String.fromCharCode(...new Uint8Array(buffer)))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');

function keyBytes(base64: string): Uint8Array<ArrayBuffer> {
  const padded = base64.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(padded + '='.repeat((4 - (padded.length % 4)) % 4));
  const bytes = new Uint8Array(new ArrayBuffer(raw.length));
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

/**
 * Web Push for when no tab is open: the switch asks permission, subscribes with the service's
 * VAPID key and registers the subscription; off unsubscribes and deletes it. The preferences
 * mute kinds for push (the feed still shows them).
 */
export class PushPanel {
  private subscriptionId: string | null = null;

  async start(): Promise<void> {
    await this.loadPreferences();
    const toggle = $('push-toggle') as HTMLInputElement;
    if (!('serviceWorker' in navigator) || !('PushManager' in window)) {
      toggle.disabled = true;
      this.status('this browser cannot receive Web Push');
      return;
    }
    const registration = await navigator.serviceWorker.register('/sw.js');
    const existing = await registration.pushManager.getSubscription();
    toggle.checked = existing !== null;
    this.status(existing !== null ? 'push on' : 'push off');
    toggle.addEventListener('change', () =>
      inBackground(
        (toggle.checked ? this.enable(registration) : this.disable(registration)).catch(
          (err: unknown) => {
            toggle.checked = !toggle.checked;
            this.status(`push: ${err instanceof Error ? err.message : String(err)}`);
          },
        ),
      ),
    );
  }

  private async enable(registration: ServiceWorkerRegistration): Promise<void> {
    if ((await Notification.requestPermission()) !== 'granted')
      throw new Error('notifications are not allowed for this site');
    const { publicKey } = await api<{ publicKey: string }>('/api/push/vapid-public-key');
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(publicKey),
    });
    const { id } = await api<{ id: string }>('/api/push/subscriptions', {
      body: {
        endpoint: subscription.endpoint,
        keys: {
          p256dh: base64url(subscription.getKey('p256dh')),
          auth: base64url(subscription.getKey('auth')),
        },
      },
    });
    this.subscriptionId = id;
    this.status('push on');
  }

  private async disable(registration: ServiceWorkerRegistration): Promise<void> {
    const subscription = await registration.pushManager.getSubscription();
    const endpoint = subscription?.endpoint;
    await subscription?.unsubscribe();
    const { items } = await api<{ items: Array<{ id: string; endpoint: string }> }>(
      '/api/push/subscriptions',
    );
    const ids = items.filter((s) => s.endpoint === endpoint || s.id === this.subscriptionId);
    for (const { id } of ids)
      await api(`/api/push/subscriptions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    this.subscriptionId = null;
    this.status('push off');
  }

  private async loadPreferences(): Promise<void> {
    let prefs: NotificationPreferences = { push: {} };
    try {
      prefs = await api<NotificationPreferences>('/api/me/notification-preferences');
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    const list = $('push-prefs');
    list.replaceChildren(
      ...KINDS.map(([kind, label]) => {
        const id = `pref-${kind}`;
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.id = id;
        box.checked = prefs.push[kind] !== false;
        box.addEventListener('change', () => inBackground(this.savePreferences()));
        const text = el('label', ` ${label}`);
        text.setAttribute('for', id);
        const item = el('li');
        item.append(box, text);
        return item;
      }),
    );
  }

  private async savePreferences(): Promise<void> {
    const push: Record<string, boolean> = {};
    for (const [kind] of KINDS) push[kind] = ($(`pref-${kind}`) as HTMLInputElement).checked;
    await api('/api/me/notification-preferences', { method: 'PUT', body: { push } });
    this.status('preferences saved');
  }

  private status(text: string): void {
    $('push-status').textContent = text;
  }
}
