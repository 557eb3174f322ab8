import type { BusTopic, BusTopics, InterestFamily } from './bus';
import { encodeNotificationItems } from '../notifications/notification.views';
import type { CallFanout } from './bus.events';

/** Splits one published payload into the parts each channel (room, user, symbol) carries. */
export type Split<P> = (payload: P) => Iterable<readonly [key: string, part: P]>;

/**
 * Where a topic travels. `encode`, when given, writes a part's JSON (the same text as
 * JSON.stringify) faster than JSON.stringify can, for the topics that fan out widely.
 */
export interface InterestRoute<P> {
  family: InterestFamily;
  split: Split<P>;
  encode?: (part: P) => string;
}

export type Route<P> = { family: 'control' } | InterestRoute<P>;

/** Every topic's route; a topic without one does not compile. */
export type BusRoutes = { [T in BusTopic]: Route<BusTopics[T]> };

/** The whole payload on the channel named by one of its fields. */
const by = <P>(family: InterestFamily, key: (p: P) => string): Route<P> => ({
  family,
  split: (p) => [[key(p), p]],
});

/** A payload holding a list, split into one part per key (items keep their order). */
function grouped<P, I>(
  family: InterestFamily,
  items: (p: P) => readonly I[],
  key: (item: I) => string,
  make: (items: I[]) => P,
): InterestRoute<P> {
  return {
    family,
    split: (p) => {
      const groups = new Map<string, I[]>();
      for (const item of items(p)) {
        const k = key(item);
        const group = groups.get(k);
        if (group === undefined) groups.set(k, [item]);
        else group.push(item);
      }
      return [...groups].map(([k, list]) => [k, make(list)] as const);
    },
  };
}

/** One copy per user, on that user's channel, each naming only its own user. */
const perUser = <P extends CallFanout>(): Route<P> => ({
  family: 'user',
  split: (p) => p.userIds.map((userId) => [userId, { ...p, userIds: [userId] }] as const),
});

/**
 * Routing is exact: a room's events on the room's channel, a user's on the user's, a symbol's
 * quotes on the symbol's. An instance holds interest only in what its own clients need, so it
 * never receives (or decodes) the events of a room none of its clients joined.
 */
export const BUS_ROUTES: BusRoutes = {
  'auth.session-ended': { family: 'control' },
  // Rare (a user near the limit on two instances at once), so broadcast rather than routed.
  'rate-limit.revoked': { family: 'control' },
  'auth.user-disconnected': by('user', (e) => e.userId),
  'chat.message': by('room', (m) => m.roomId),
  'chat.typing': by('room', (e) => e.roomId),
  'chat.read': by('room', (e) => e.roomId),
  presence: by('room', (e) => e.roomId),
  // The user's sockets leave the room wherever they are connected.
  'chat.member-left': by('user', (e) => e.userId),
  'notification.created': {
    ...grouped(
      'user',
      (p) => p.items,
      (item) => item.userId,
      (items) => ({ items }),
    ),
    encode: encodeNotificationItems,
  },
  'call.ring': perUser(),
  'call.joined': perUser(),
  'call.left': perUser(),
  'call.ended': perUser(),
  'call.signal': by('user', (e) => e.to),
  'stock.quotes': grouped(
    'quote',
    (p) => p.quotes,
    (q) => q.symbol,
    (quotes) => ({ quotes }),
  ),
};
