/* global self */
// The service worker of the web client: shows a Web Push notification the service sent while
// no tab of the user was open. The payload is the feed's Notification (JSON); its text is
// shown as text by the browser's notification UI.
self.addEventListener('push', (event) => {
  let n;
  try {
    n = event.data ? event.data.json() : null;
  } catch {
    n = null;
  }
  if (n === null || typeof n.title !== 'string') return;
  event.waitUntil(
    self.registration.showNotification(n.title, {
      body: typeof n.body === 'string' ? n.body : '',
      tag: typeof n.id === 'string' ? n.id : undefined,
      data: { seq: n.seq },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(self.clients.openWindow('/'));
});
