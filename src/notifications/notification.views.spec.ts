import { encodeNotificationItems, toAddressedNotifications } from './notification.views';
import type { AddressedNotification } from './notification.views';

const shared = {
  kind: 'weight_reminder',
  title: 'Time to "log" your weight',
  body: 'Line one\nline two \u2028 and a backslash \\ and </script>',
  data: { periodKey: '2026-W49', staleDays: 7, nested: { list: [1, 'two', null] } },
};

const rows = (n: number, createdAt = '2026-12-02T09:00:00.123456+00:00') =>
  Array.from(
    { length: n },
    (_, i) =>
      [`id-${i}`, `user-${i}`, String(i + 1), createdAt] as [string, string, string, string],
  );

describe('encodeNotificationItems', () => {
  it('writes the same text as JSON.stringify for the items of one insert', () => {
    const items = toAddressedNotifications(rows(3), shared);
    expect(encodeNotificationItems({ items })).toBe(JSON.stringify({ items }));
    for (const item of items)
      expect(encodeNotificationItems({ items: [item] })).toBe(JSON.stringify({ items: [item] }));
  });

  it('re-encodes the shared fields whenever one of them differs from the last items', () => {
    const first = toAddressedNotifications(rows(2), shared);
    const other: AddressedNotification[] = [
      { userId: 'u', notification: { ...first[0].notification, title: 'Another title' } },
      {
        userId: 'u',
        notification: { ...first[0].notification, readAt: '2026-12-02T10:00:00.000Z' },
      },
      // The same content in another object: encoded from that object, not the remembered one.
      { userId: 'u', notification: { ...first[0].notification, data: { periodKey: 'x' } } },
      {
        userId: 'u',
        notification: { ...first[0].notification, createdAt: '2027-01-01T00:00:00.000Z' },
      },
      { userId: 'u', notification: { ...first[0].notification, kind: 'k' } },
      { userId: 'u', notification: { ...first[0].notification, body: 'b', seq: 99 } },
    ];
    const mixed = [first[0], ...other, first[1]];
    expect(encodeNotificationItems({ items: mixed })).toBe(JSON.stringify({ items: mixed }));
    for (const item of mixed)
      expect(encodeNotificationItems({ items: [item] })).toBe(JSON.stringify({ items: [item] }));
  });

  it('writes an empty list as JSON.stringify does', () => {
    expect(encodeNotificationItems({ items: [] })).toBe(JSON.stringify({ items: [] }));
  });

  it('parses back to the views it was given', () => {
    const items = toAddressedNotifications(rows(2), shared);
    expect(JSON.parse(encodeNotificationItems({ items }))).toEqual({ items });
  });
});
