import { BadRequestException } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

// A NUL, or a UTF-16 surrogate without its partner: text that Postgres rejects or that breaks
// JSON consumers later. Refusing it at the edge keeps it out of storage entirely.
// eslint-disable-next-line no-control-regex
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const isPlain = (value: object): boolean => {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
};

/**
 * Where in a value the first unsafe string sits, or null. Walks plain objects and arrays (what
 * JSON parsing produces) only, to a bounded depth.
 */
export function findUnsafeText(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return UNSAFE.test(value) ? path || 'value' : null;
  if (depth > 32 || value === null || typeof value !== 'object' || !isPlain(value)) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnsafeText(value[i], `${path}[${i}]`, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, v] of Object.entries(value)) {
    if (UNSAFE.test(key)) return `${path}${path ? '.' : ''}(key)`;
    const found = findUnsafeText(v, path ? `${path}.${key}` : key, depth + 1);
    if (found !== null) return found;
  }
  return null;
}

/**
 * Express middleware: request bodies and query strings with NUL or lone surrogates are a 400
 * before any handler runs. (A global Nest pipe would also see gateway payloads, which answer
 * through acknowledgements instead; `parsePayload` checks those.)
 */
export function rejectUnsafeText(req: Request, res: Response, next: NextFunction): void {
  const where = findUnsafeText(req.body) ?? findUnsafeText(req.query);
  if (where === null) return next();
  const error = new BadRequestException(
    `${where} contains a NUL character or an unpaired surrogate`,
  );
  res.status(400).json({ statusCode: 400, error: 'Bad Request', message: error.message });
}
