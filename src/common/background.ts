import type { Logger } from '@nestjs/common';

/** An error's message, for a log line (no driver objects, no stacks). */
export const errorText = (err: unknown): string =>
  err instanceof Error ? err.message : String(err);

const withStack = (err: unknown): string =>
  err instanceof Error ? (err.stack ?? err.message) : String(err);

/**
 * Starts work nobody awaits (a timer's tick, an event's follow-up) and handles its failure right
 * here: an unhandled rejection would end the process. Tasks are expected to deal with the
 * failures they know (a database outage, say); what reaches this is logged as an error, so a bug
 * is seen, not hidden.
 */
export function inBackground(logger: Logger, what: string, task: () => Promise<unknown>): void {
  let running: Promise<unknown>;
  try {
    running = task();
  } catch (err) {
    logger.error(`${what} failed: ${withStack(err)}`);
    return;
  }
  running.catch((err: unknown) => logger.error(`${what} failed: ${withStack(err)}`));
}
