/** Where the real services of the test machine are; overridable for other setups. */
export const PG_ADMIN_URL =
  process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_SECRET = 'test-jwt-secret-0123456789abcdef';
export const TEST_API_KEY = 'test-service-key-0123456789abcdef';
