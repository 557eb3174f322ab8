/**
 * True for errors that mean "the database cannot be reached right now" (as opposed to a bad
 * query): these become 503 / UNAVAILABLE, never 500 with driver text.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; driverError?: unknown };
  if (e.driverError !== undefined && e.driverError !== err && isDatabaseUnavailable(e.driverError))
    return true;
  const code = typeof e.code === 'string' ? e.code : '';
  // 08xxx connection exceptions, 57P0x shutdown / cannot connect now, 53300 too many connections.
  if (/^08/.test(code) || /^57P0/.test(code) || code === '53300') return true;
  if (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)
  )
    return true;
  return /Connection terminated|timeout exceeded when trying to connect|connect ECONNREFUSED|Client has encountered a connection error|Connection is not established|terminating connection/i.test(
    e.message,
  );
}

/** The SQLSTATE of a Postgres error, whether TypeORM wrapped it or not. */
export function pgErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' ? code : undefined;
}

/** Postgres unique_violation (optionally of one constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (pgErrorCode(err) !== '23505') return false;
  const e = err as { constraint?: unknown; driverError?: { constraint?: unknown } };
  return constraint === undefined || (e.constraint ?? e.driverError?.constraint) === constraint;
}

/** Postgres query_canceled by statement_timeout (DB_STATEMENT_TIMEOUT_MS): load, not an outage. */
export const isStatementTimeout = (err: unknown): boolean => pgErrorCode(err) === '57014';

/** Postgres deadlock_detected: the statement was rolled back and can simply run again. */
export const isDeadlock = (err: unknown): boolean => pgErrorCode(err) === '40P01';

/**
 * Runs a single-statement write again when it failed in a way that changed nothing and that a
 * second try resolves (a racing writer on a unique key, a deadlock), up to `attempts` times.
 */
export async function retryWhen<T>(
  statement: () => Promise<T>,
  retryable: (err: unknown) => boolean,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (err) {
      if (attempt >= attempts || !retryable(err)) throw err;
    }
  }
}
