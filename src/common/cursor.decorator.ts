import { applyDecorators } from '@nestjs/common';
import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { MAX_CURSOR, parseCursor } from './cursor';

/**
 * A seq cursor in a query string: digits only ("1e3", "0x10", " 1" are refused), 0..MAX_CURSOR.
 * Absent stays undefined so the DTO's default applies.
 */
export function CursorParam(min = 0): PropertyDecorator {
  return applyDecorators(
    Transform(({ value }: { value: unknown }) => {
      const cursor = parseCursor(value);
      return cursor === 'invalid' ? Number.NaN : (cursor ?? undefined);
    }),
    IsInt({ message: ({ property }) => `${property} must be a non-negative integer` }),
    Min(min),
    Max(MAX_CURSOR),
  );
}
