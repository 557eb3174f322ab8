import {
  ArgumentMetadata,
  BadRequestException,
  Injectable,
  type PipeTransform,
} from '@nestjs/common';

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
 * Global pipe: bodies, queries and params with NUL or lone surrogates are a 400. (Global pipes
 * also see gateway arguments such as the socket; socket payloads are checked by parsePayload.)
 */
@Injectable()
export class SafeTextPipe implements PipeTransform {
  transform(value: unknown, metadata?: ArgumentMetadata): unknown {
    if (metadata !== undefined && !['body', 'query', 'param'].includes(metadata.type)) return value;
    const where = findUnsafeText(value);
    if (where !== null)
      throw new BadRequestException(`${where} contains a NUL character or an unpaired surrogate`);
    return value;
  }
}
