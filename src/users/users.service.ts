import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import type { UserView, WeightView } from './user.views';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(private readonly repo: UsersRepository) {}

  async create(username: string, displayName: string, passwordHash: string): Promise<UserView> {
    try {
      return await this.repo.create(username, displayName, passwordHash);
    } catch (err) {
      if (isUniqueViolation(err, 'users_username_key'))
        throw new ConflictException('username is taken');
      throw err;
    }
  }

  findCredentials(
    username: string,
  ): Promise<{ user: UserView; passwordHash: string | null } | null> {
    return this.repo.findCredentials(username);
  }

  findByUsername(username: string): Promise<UserView | null> {
    return this.repo.findByUsername(username);
  }

  async get(id: string): Promise<UserView> {
    const user = await this.repo.findById(id);
    if (user === null) throw new NotFoundException('user not found');
    return user;
  }

  async setGoal(id: string, goalWeightKg: number | null): Promise<UserView> {
    const user = await this.repo.setGoal(id, goalWeightKg, new Date());
    if (user === null) throw new NotFoundException('user not found');
    return user;
  }

  addWeight(userId: string, weightKg: number, measuredAt: Date): Promise<WeightView> {
    return this.repo.addWeight(userId, weightKg, measuredAt);
  }

  listWeights(userId: string, limit: number): Promise<WeightView[]> {
    return this.repo.listWeights(userId, limit);
  }
}
