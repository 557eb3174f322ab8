import { randomInt } from 'node:crypto';
import { findUnsafeText } from '../common/safe-text';

/** What registration accepts as a username; outside users are held to the same rule. */
export const USERNAME_PATTERN = /^[a-z0-9_]{3,32}$/;
/** users.display_name is varchar(64). */
export const DISPLAY_NAME_MAX = 64;
/** users.external_id is varchar(255); Postgres counts characters, so this counts code points. */
export const EXTERNAL_ID_MAX = 255;

const STEM_MAX = 20;
const SUFFIX_LENGTH = 8;
const SUFFIX_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

const codePoints = (s: string): string[] => Array.from(s);

/**
 * An outside `sub` that can be stored and found again: 1-255 characters, none a NUL or an
 * unpaired surrogate (Postgres refuses the one and would store the other as U+FFFD, merging two
 * different subjects into one user).
 */
export function isExternalId(sub: unknown): sub is string {
  if (typeof sub !== 'string' || sub.length === 0) return false;
  return codePoints(sub).length <= EXTERNAL_ID_MAX && findUnsafeText(sub) === null;
}

/** `preferred_username` as it is, when registration would have accepted it; else null. */
export function preferredUsername(claim: unknown): string | null {
  return typeof claim === 'string' && USERNAME_PATTERN.test(claim) ? claim : null;
}

const randomSuffix = (): string =>
  Array.from(
    { length: SUFFIX_LENGTH },
    () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)],
  ).join('');

/**
 * A username for an outside user whose preferred one is invalid or taken: a readable stem from
 * what the claims offer (lowercased, accents and other characters dropped) and a random suffix,
 * e.g. `ada_lovelace_k3x9q2mz`. 36^8 suffixes make a clash rare; the caller retries on one.
 */
export function generatedUsername(hint: unknown, suffix: () => string = randomSuffix): string {
  const stem =
    typeof hint === 'string'
      ? hint
          .normalize('NFKD')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .replace(/^_+|_+$/g, '')
          .slice(0, STEM_MAX)
          .replace(/_+$/, '')
      : '';
  return `${stem.length >= 3 ? stem : 'user'}_${suffix()}`;
}

/**
 * `name`, made fit for display: control characters gone, runs of whitespace one space, trimmed,
 * at most 64 characters (never cutting a character in half); the username when nothing is left.
 */
export function displayNameFor(name: unknown, username: string): string {
  if (typeof name !== 'string' || findUnsafeText(name) !== null) return username;
  const cleaned = name
    .replace(/\p{Cc}/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
  const bounded = codePoints(cleaned).slice(0, DISPLAY_NAME_MAX).join('').trim();
  return bounded.length > 0 ? bounded : username;
}
