import type { Request } from 'express';

/**
 * A stream lives for hours on the request that opened it. Once its headers are out, Express's
 * routing state on that request is dead weight: `req.next` holds the router's whole chain of
 * closures (about 1.2 KiB per open stream here), and the matched route, params and parsed URL
 * hang on with it. A bare node:http stream holds none of this. Cleared, not deleted: deleting
 * would turn the request object into a slower, larger dictionary.
 */
export function releaseRoutingState(req: Request): void {
  const state = req as unknown as Record<'next' | 'route' | 'params' | '_parsedUrl', unknown>;
  state.next = undefined;
  state.route = undefined;
  state.params = undefined;
  state._parsedUrl = undefined;
}
