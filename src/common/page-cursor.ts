import { BadRequestException } from '@nestjs/common';

/**
 * A keyset position: a timestamp and the id that breaks ties. `at` is the timestamp as
 * PostgreSQL prints it (`::text`), microseconds included: a millisecond ISO string would fall
 * between rows written in the same millisecond and page through them again.
 */
export interface KeysetPosition {
  at: string;
  id: string;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}(:?\d{2})?)$/;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One page of a keyset-paged list; `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** A row of a keyset-paged read: the item and its position in the list. */
export interface Keyed<T> {
  item: T;
  key: KeysetPosition;
}

/** The page of `limit` items out of `limit + 1` keyed rows read: the extra one says more exist. */
export function pageOf<T>(rows: readonly Keyed<T>[], limit: number): Page<T> {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => row.item),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(last.key) : null,
  };
}

/** The opaque `nextCursor` a client hands back for the next page. */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

/** Reads a cursor this service issued; anything else is a 400, never a query on garbage. */
export function decodeCursor(cursor: string): KeysetPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      typeof value[1] === 'string' &&
      TIMESTAMP.test(value[0]) &&
      UUID.test(value[1])
    )
      return { at: value[0], id: value[1] };
  } catch {
    // falls through to the 400
  }
  throw new BadRequestException('cursor is not one this service issued');
}
