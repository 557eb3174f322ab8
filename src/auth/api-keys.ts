import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * The accepted X-Api-Keys (several while one is rotated). Keys are compared as SHA-256 digests,
 * so every comparison is of 32 bytes: constant time, and no length leak. Every key is compared,
 * whichever matched, so the time does not tell which one it was either.
 */
export class ApiKeyMatcher {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    if (keys.length === 0) throw new Error('at least one API key is needed');
    this.digests = keys.map(digest);
  }

  matches(given: unknown): boolean {
    if (typeof given !== 'string' || given.length === 0) return false;
    const presented = digest(given);
    let found = false;
    for (const key of this.digests) found = timingSafeEqual(presented, key) || found;
    return found;
  }
}
