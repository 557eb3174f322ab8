/** Largest cursor accepted: far beyond any real seq, still exact as a JavaScript number. */
export const MAX_CURSOR = Number.MAX_SAFE_INTEGER;

/**
 * A seq cursor from a query parameter or Last-Event-ID: digits only, within MAX_CURSOR.
 * Returns null when absent (undefined or empty), 'invalid' for anything else malformed.
 */
export function parseCursor(value: unknown): number | null | 'invalid' {
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || !/^\d{1,16}$/.test(value)) return 'invalid';
  const n = Number(value);
  return n <= MAX_CURSOR ? n : 'invalid';
}
