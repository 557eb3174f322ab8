import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/**
 * One login. Its id is the JWT's `sid`, so logging out (revoking it) invalidates that token on
 * every instance, and the bus tells every instance to close that login's sockets and streams.
 */
@Entity('auth_sessions')
export class AuthSession {
  @PrimaryColumn('uuid')
  id!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}
