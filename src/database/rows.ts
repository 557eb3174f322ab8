import type { EntityManager } from 'typeorm';

/**
 * `DataSource.query` on Postgres returns the rows for SELECT and INSERT ... RETURNING, but
 * `[rows, affectedCount]` for UPDATE and DELETE. This gives the rows either way.
 */
export function rowsOf<T>(result: unknown): T[] {
  if (!Array.isArray(result)) return [];
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number')
    return result[0] as T[];
  return result as T[];
}

/**
 * What a repository statement needs of a connection: the data source, or a transaction's
 * manager when the statement must commit together with others.
 */
export type Queryable = Pick<EntityManager, 'query'>;
