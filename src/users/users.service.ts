import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Repository } from 'typeorm';
import { isUniqueViolation } from '../database/database-errors';
import { User } from './user.entity';
import { Weight } from './weight.entity';

@Injectable()
export class UsersService {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectRepository(Weight) private readonly weights: Repository<Weight>,
  ) {}

  async create(username: string, displayName: string, passwordHash: string): Promise<User> {
    try {
      const inserted = await this.users
        .createQueryBuilder()
        .insert()
        .values({ username, displayName, passwordHash })
        .returning('*')
        .execute();
      return this.users.create(inserted.generatedMaps[0] as Partial<User>);
    } catch (err) {
      if (isUniqueViolation(err, 'users_username_key'))
        throw new ConflictException('username is taken');
      throw err;
    }
  }

  async findCredentials(username: string): Promise<{ user: User; passwordHash: string } | null> {
    const user = await this.users
      .createQueryBuilder('u')
      .addSelect('u.passwordHash')
      .where('u.username = :username', { username })
      .getOne();
    return user === null ? null : { user, passwordHash: user.passwordHash };
  }

  findByUsername(username: string): Promise<User | null> {
    return this.users.findOneBy({ username });
  }

  async get(id: string): Promise<User> {
    const user = await this.users.findOneBy({ id });
    if (user === null) throw new NotFoundException('user not found');
    return user;
  }

  async setGoal(id: string, goalWeightKg: number | null): Promise<User> {
    await this.users.update({ id }, { goalWeightKg, goalUpdatedAt: new Date() });
    return this.get(id);
  }

  async addWeight(userId: string, weightKg: number, measuredAt: Date): Promise<Weight> {
    const weight = this.weights.create({ userId, weightKg, measuredAt });
    return this.weights.save(weight);
  }

  listWeights(userId: string, limit: number): Promise<Weight[]> {
    return this.weights.find({
      where: { userId },
      order: { measuredAt: 'DESC', createdAt: 'DESC' },
      take: limit,
    });
  }
}
