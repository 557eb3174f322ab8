import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rowsOf } from '../database/rows';
import type { OutboxDelivery } from './outbox.sink';

export type OutboxStatus = 'pending' | 'delivered' | 'failed';

/** A row as the admin listing shows it. */
export interface OutboxRowView {
  id: string;
  type: string;
  attempts: number;
  status: OutboxStatus;
  lastError: string | null;
  nextAttemptAt: string | null;
}

interface ClaimedRow {
  id: string;
  type: string;
  data: unknown;
  created_at: Date;
  attempts: number;
}

interface ListedRow {
  id: string;
  type: string;
  attempts: number;
  status: OutboxStatus;
  last_error: string | null;
  next_attempt_at: Date | null;
}

const LISTED_COLUMNS = 'id, type, attempts, status, last_error, next_attempt_at';

/** Names written into SQL text as literals: code constants only, checked anyway. */
const LITERAL = /^[a-z][a-z0-9_.-]*$/;

/**
 * A timestamp as JavaScript's toISOString writes it (UTC, milliseconds, `Z`), so an event's
 * payload built in SQL reads like the API's views built in code.
 */
export const isoTimeSql = (expr: string): string =>
  `to_char((${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The outbox insert as a data-modifying CTE body, for the statement that makes the change the
 * rows are about (so both commit together, set-based): one row of `type` for `sink` per row of
 * `from`, with `data` (an SQL jsonb expression over `from`), only where `when` (an SQL boolean,
 * typically a parameter: the statement stays one prepared text whether the event is wanted or
 * not) holds.
 */
export function outboxInsertSql(
  sink: string,
  type: string,
  data: string,
  from: string,
  when: string,
): string {
  if (!LITERAL.test(sink) || !LITERAL.test(type))
    throw new Error(`outbox sink and type must be plain names (got ${sink}, ${type})`);
  return `INSERT INTO outbox (sink, type, data) SELECT '${sink}', '${type}', ${data} FROM ${from} WHERE ${when}`;
}

/** The outbox table's claim, settle and listing; the inserts are fragments of other statements. */
@Injectable()
export class OutboxRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /**
   * Claims up to `limit` due rows of a sink for this caller: locks them skipping rows another
   * instance is claiming right now, counts the attempt and moves them `leaseMs` ahead, all in one
   * statement. Until the lease ends nobody else sees them due; if the caller dies, they are due
   * again then.
   */
  async claim(sink: string, limit: number, leaseMs: number): Promise<OutboxDelivery[]> {
    const rows = rowsOf<ClaimedRow>(
      await this.db.query(
        `WITH due AS (
           SELECT id FROM outbox
           WHERE sink = $1 AND status = 'pending' AND next_attempt_at <= now()
           ORDER BY next_attempt_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         )
         UPDATE outbox o
         SET attempts = o.attempts + 1,
             next_attempt_at = now() + make_interval(secs => $3::float8 / 1000)
         FROM due WHERE o.id = due.id
         RETURNING o.id, o.type, o.data, o.created_at, o.attempts`,
        [sink, limit, leaseMs],
      ),
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      data: r.data,
      createdAt: r.created_at.toISOString(),
      attempt: r.attempts,
    }));
  }

  /**
   * Marks a row delivered. Not fenced by attempt: if the lease ran out and another instance
   * sends it again, the event still was delivered (at least once is the promise).
   */
  async delivered(id: string): Promise<void> {
    await this.db.query(
      `UPDATE outbox SET status = 'delivered', next_attempt_at = NULL, last_error = NULL,
         settled_at = now()
       WHERE id = $1 AND status = 'pending'`,
      [id],
    );
  }

  /**
   * Records a failed attempt: due again after `delayMs`, but never later than `windowMs` after
   * the event; an attempt that failed at or past that point makes the row `failed`. Only the
   * attempt's own claim may do this (a row reclaimed after its lease belongs to the new claim).
   * The row's status afterwards, or null when the claim was no longer this attempt's.
   */
  async failed(
    delivery: Pick<OutboxDelivery, 'id' | 'attempt'>,
    error: string,
    delayMs: number,
    windowMs: number,
  ): Promise<OutboxStatus | null> {
    const [row] = rowsOf<{ status: OutboxStatus }>(
      await this.db.query(
        `WITH w AS (
           SELECT make_interval(secs => $4::float8 / 1000) AS d,
                  make_interval(secs => $5::float8 / 1000) AS win
         )
         UPDATE outbox o SET
           last_error = $3,
           status = CASE WHEN now() >= o.created_at + w.win THEN 'failed' ELSE 'pending' END,
           next_attempt_at = CASE WHEN now() >= o.created_at + w.win THEN NULL
                                  ELSE LEAST(now() + w.d, o.created_at + w.win) END,
           settled_at = CASE WHEN now() >= o.created_at + w.win THEN now() END
         FROM w
         WHERE o.id = $1 AND o.attempts = $2 AND o.status = 'pending'
         RETURNING o.status`,
        [delivery.id, delivery.attempt, error.slice(0, 500), delayMs, windowMs],
      ),
    );
    return row?.status ?? null;
  }

  /** Gives claimed rows back at once (this instance stops before their attempts ended). */
  async release(deliveries: ReadonlyArray<Pick<OutboxDelivery, 'id' | 'attempt'>>): Promise<void> {
    if (deliveries.length === 0) return;
    await this.db.query(
      `UPDATE outbox o SET next_attempt_at = now()
       FROM unnest($1::uuid[], $2::int[]) AS t(id, attempts)
       WHERE o.id = t.id AND o.attempts = t.attempts AND o.status = 'pending'`,
      [deliveries.map((d) => d.id), deliveries.map((d) => d.attempt)],
    );
  }

  /** A sink's rows, newest first, of one status or any. */
  async list(sink: string, status: OutboxStatus | null, limit: number): Promise<OutboxRowView[]> {
    // Two texts rather than `$2 IS NULL OR ...`, so each reads its own index order.
    const rows = rowsOf<ListedRow>(
      status === null
        ? await this.db.query(
            `SELECT ${LISTED_COLUMNS} FROM outbox WHERE sink = $1
             ORDER BY created_at DESC, id DESC LIMIT $2`,
            [sink, limit],
          )
        : await this.db.query(
            `SELECT ${LISTED_COLUMNS} FROM outbox WHERE sink = $1 AND status = $2
             ORDER BY created_at DESC, id DESC LIMIT $3`,
            [sink, status, limit],
          ),
    );
    return rows.map((r) => ({
      id: r.id,
      type: r.type,
      attempts: r.attempts,
      status: r.status,
      lastError: r.last_error,
      nextAttemptAt: r.next_attempt_at === null ? null : r.next_attempt_at.toISOString(),
    }));
  }

  /** Pending rows per sink (counted on the claim's partial index). */
  async pendingBySink(): Promise<Map<string, number>> {
    const rows = rowsOf<{ sink: string; count: string | number }>(
      await this.db.query(
        `SELECT sink, count(*) AS count FROM outbox WHERE status = 'pending' GROUP BY sink`,
      ),
    );
    return new Map(rows.map((r) => [r.sink, Number(r.count)]));
  }
}
