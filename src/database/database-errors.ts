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

/** Postgres unique_violation. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!(err instanceof Error)) return false;
  const e = err as Error & {
    code?: unknown;
    constraint?: unknown;
    driverError?: { code?: unknown; constraint?: unknown };
  };
  const code = e.code ?? e.driverError?.code;
  const name = e.constraint ?? e.driverError?.constraint;
  return code === '23505' && (constraint === undefined || name === constraint);
}
