import type { ValueTransformer } from 'typeorm';

/** Postgres returns NUMERIC as a string to keep precision; our values (kg, prices) fit a double. */
export const numericTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
