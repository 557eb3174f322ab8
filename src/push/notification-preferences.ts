import { NOTIFICATION_KIND, NOTIFICATION_KIND_RULE } from '../notifications/notification-kind';

/** Per kind, whether it is pushed; a kind that is not listed is. */
export type PushPreferences = Record<string, boolean>;

/** More kinds than any client shows as switches; bounds what one user may store. */
export const MAX_PREFERENCE_KINDS = 200;

export class InvalidPreferences extends Error {}

/**
 * The `push` map of a PUT, checked: an object of kinds (as publishers name them) to booleans.
 * Throws InvalidPreferences naming the first problem.
 */
export function parsePushPreferences(input: unknown): PushPreferences {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new InvalidPreferences('push must be an object of kind: boolean');
  const entries = Object.entries(input);
  if (entries.length > MAX_PREFERENCE_KINDS)
    throw new InvalidPreferences(`push may name at most ${MAX_PREFERENCE_KINDS} kinds`);
  // No prototype: a kind named __proto__ is a key like any other.
  const prefs = Object.create(null) as PushPreferences;
  for (const [kind, value] of entries) {
    if (!NOTIFICATION_KIND.test(kind))
      throw new InvalidPreferences(
        `push kinds must be ${NOTIFICATION_KIND_RULE} (got ${JSON.stringify(kind.slice(0, 80))})`,
      );
    if (typeof value !== 'boolean')
      throw new InvalidPreferences(`push.${kind} must be true or false`);
    prefs[kind] = value;
  }
  return prefs;
}
