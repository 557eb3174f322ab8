import { Injectable } from '@nestjs/common';

/** The one side effect of the webhook sink: a POST, answered with its status. */
@Injectable()
export class WebhookHttp {
  /**
   * Posts and resolves with the status as soon as it arrives (the body is not read). Redirects
   * are not followed: Standard Webhooks counts a 3xx as a failure (the URL should be updated).
   * Rejects on a network error or when `signal` aborts.
   */
  async post(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<number> {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal });
    // Nobody reads the answer; cancelling it frees the connection for the next request.
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  }
}
