import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { isUniqueViolation, retryWhen } from '../database/database-errors';
import { displayNameFor, generatedUsername, preferredUsername } from './profile-rules';
import type { UserView } from './user.views';
import { UsersRepository } from './users.repository';

/** What an outside token says about its subject (verified by the caller). */
export interface OutsideProfile {
  /** The token's `sub`, already checked to be a valid external id. */
  externalId: string;
  /** `preferred_username` and `name`, as the token has them (any type). */
  preferredUsername: unknown;
  name: unknown;
}

/** Outside subjects remembered per instance; each entry is a few hundred bytes. */
const CACHE_MAX = 10_000;
/** A preferred name taken and then this many generated ones too: something is badly wrong. */
const USERNAME_ATTEMPTS = 5;

/**
 * Maps an outside identity to its local user, creating the user on first sight. A busy socket
 * handshake or stream reconnect storm must not hit the database for every token, so the mapping
 * (which never changes: users are not re-keyed) is kept in a bounded map with least-recently-used
 * eviction, and concurrent first sights on this instance share one lookup. Across instances the
 * unique external_id makes the first insert win (see UsersRepository.ensureExternal).
 */
@Injectable()
export class ExternalUsersService {
  /** externalId -> userId, in least-recently-used first order (a Map keeps insertion order). */
  private readonly cache = new Map<string, string>();
  private readonly pending = new Map<string, Promise<string>>();

  constructor(private readonly repo: UsersRepository) {}

  /** The local user id standing for this outside subject. */
  userIdFor(profile: OutsideProfile): Promise<string> {
    const { externalId } = profile;
    const cached = this.cache.get(externalId);
    if (cached !== undefined) {
      this.cache.delete(externalId);
      this.cache.set(externalId, cached);
      return Promise.resolve(cached);
    }
    let lookup = this.pending.get(externalId);
    if (lookup === undefined) {
      lookup = this.lookUp(profile).finally(() => this.pending.delete(externalId));
      this.pending.set(externalId, lookup);
    }
    return lookup;
  }

  /**
   * The server API's view of an outside user: made now (with this username or one generated,
   * this display name or the username), or the existing one with the fields given set.
   * `created` tells which. A username someone else has is a 409.
   */
  async upsert(
    externalId: string,
    fields: { username?: string; displayName?: string },
  ): Promise<{ user: UserView; created: boolean }> {
    const existing = await this.repo.findByExternalId(externalId);
    if (existing !== null) {
      if (fields.username === undefined && fields.displayName === undefined)
        return { user: existing, created: false };
      const updated = await this.repo
        .updateProfile(existing.id, fields.username, fields.displayName)
        .catch((err: unknown) => {
          if (isUniqueViolation(err, 'users_username_key'))
            throw new ConflictException('username taken');
          throw err;
        });
      if (updated === null) throw new NotFoundException('user not found');
      return { user: updated, created: false };
    }
    if (fields.username !== undefined && (await this.repo.findByUsername(fields.username)) !== null)
      throw new ConflictException('username taken');
    // Another instance may make it first: then it is that one, and not "created" here.
    return this.create({
      externalId,
      preferredUsername: fields.username,
      name: fields.displayName,
    });
  }

  /** The local ids of those external ids that are users (none is created). */
  idsFor(externalIds: readonly string[]): Promise<string[]> {
    return externalIds.length === 0 ? Promise.resolve([]) : this.repo.idsForExternal(externalIds);
  }

  private async lookUp(profile: OutsideProfile): Promise<string> {
    const user =
      (await this.repo.findByExternalId(profile.externalId)) ?? (await this.create(profile)).user;
    if (this.cache.size >= CACHE_MAX) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.set(profile.externalId, user.id);
    return user.id;
  }

  /** Inserts the user: the preferred username first (when valid), then generated ones. */
  private create(profile: OutsideProfile): Promise<{ user: UserView; created: boolean }> {
    let next = preferredUsername(profile.preferredUsername);
    return retryWhen(
      () => {
        const username = next ?? generatedUsername(profile.preferredUsername ?? profile.name);
        next = null;
        return this.repo.ensureExternal(
          profile.externalId,
          username,
          displayNameFor(profile.name, username),
        );
      },
      (err) => isUniqueViolation(err, 'users_username_key'),
      USERNAME_ATTEMPTS,
    );
  }
}
