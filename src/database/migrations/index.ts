import { Foundation1732200000000 } from './1732200000000-foundation.migration';

/** Every migration, in order. New ones are appended here. */
export const migrations = [Foundation1732200000000];
