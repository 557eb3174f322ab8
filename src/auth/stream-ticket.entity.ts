import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * A single-use credential for EventSource, which cannot send headers. Only a hash is stored, so
 * a database reader cannot replay tickets; Postgres makes it valid on every instance.
 */
@Entity('stream_tickets')
export class StreamTicket {
  @PrimaryColumn({ name: 'ticket_hash', type: 'varchar', length: 64 })
  ticketHash!: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId!: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId!: string;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
