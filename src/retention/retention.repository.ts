import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';

/**
 * What the retention deletes, each as "the ids of up to $2 rows older than $1": a chunk is one
 * short statement and commit, so no lock is held for long and the hot inserts never wait behind
 * a day's worth of deletes. Counters (rooms.last_seq, notification_seq) are not touched: seqs
 * never restart, and a cursor from before a deleted range goes on from the oldest kept row.
 */
const CHUNKS = {
  // BRIN on created_at finds the old end of these append-ordered tables in a few pages.
  messages: `SELECT id FROM messages WHERE created_at < $1 LIMIT $2`,
  notifications: `SELECT id FROM notifications WHERE created_at < $1 LIMIT $2`,
  sessions: `SELECT id FROM auth_sessions WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2`,
  jobRuns: `SELECT id FROM job_runs WHERE started_at < $1 LIMIT $2`,
  // Deliveries that are settled (delivered, or failed for good); pending ones always stay.
  outbox: `SELECT id FROM outbox WHERE status <> 'pending' AND settled_at < $1 LIMIT $2`,
} as const;

const TABLES: Record<RetainedKind, string> = {
  messages: 'messages',
  notifications: 'notifications',
  sessions: 'auth_sessions',
  jobRuns: 'job_runs',
  outbox: 'outbox',
};

export type RetainedKind = keyof typeof CHUNKS;

@Injectable()
export class RetentionRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Deletes one chunk of rows of `kind` older than `before`; returns how many went. */
  async deleteChunk(kind: RetainedKind, before: Date, limit: number): Promise<number> {
    const rows = rowsOf<{ id: string }>(
      await this.db.query(
        `DELETE FROM ${TABLES[kind]} WHERE id IN (${CHUNKS[kind]}) RETURNING id`,
        [before, limit],
      ),
    );
    return rows.length;
  }

  /** Finished claims of periods older than `before` (the runs' log is trimmed separately). */
  async deleteFinishedClaims(before: Date): Promise<number> {
    const rows = rowsOf<{ job: string }>(
      await this.db.query(
        `DELETE FROM job_claims WHERE finished_at IS NOT NULL AND finished_at < $1 RETURNING job`,
        [before],
      ),
    );
    return rows.length;
  }
}
