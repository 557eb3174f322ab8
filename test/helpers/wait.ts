/**
 * Polls a condition that has no event to await (a gauge, a database row, another process's
 * state), every `intervalMs`, until it holds or `timeoutMs` passes. Returns the time it took.
 */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
  intervalMs = 25,
): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return Date.now() - started;
}
