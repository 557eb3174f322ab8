import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { numericTransformer } from '../database/numeric.transformer';

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id!: string;

  @Column({ type: 'varchar', length: 32, unique: true })
  username!: string;

  @Column({ name: 'display_name', type: 'varchar', length: 64 })
  displayName!: string;

  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash!: string;

  @Column({
    name: 'goal_weight_kg',
    type: 'numeric',
    precision: 6,
    scale: 2,
    nullable: true,
    transformer: numericTransformer,
  })
  goalWeightKg!: number | null;

  /** When the goal was last set; the weekly reminder treats a fresh goal like a fresh weight. */
  @Column({ name: 'goal_updated_at', type: 'timestamptz', nullable: true })
  goalUpdatedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

export interface UserView {
  id: string;
  username: string;
  displayName: string;
  goalWeightKg: number | null;
  createdAt: string;
}

export function toUserView(user: User): UserView {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    goalWeightKg: user.goalWeightKg,
    createdAt: user.createdAt.toISOString(),
  };
}
