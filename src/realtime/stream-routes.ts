import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Logger as Pino } from 'pino';
import { errorText } from '../common/background';
import { InjectConfig, type AppConfig } from '../config/app.config';
import { LifecycleService } from '../lifecycle/lifecycle.service';
import { logStreamEnd, PINO, requestIdOf } from '../logging/logging.module';
import { NDJSON_FRAMING, SSE_FRAMING, type StreamFraming } from './stream-framing';

/**
 * The security headers a stream response carries. Helmet's others (a content security policy,
 * frame, referrer, opener and agent-cluster policies, DNS prefetch, download and cross-domain
 * policies) govern documents; an event stream is never rendered as one, and `nosniff` is what
 * makes sure a browser does not try.
 */
export const STREAM_SECURITY_HEADERS: readonly string[] = [
  'X-Content-Type-Options',
  'nosniff',
  'Cross-Origin-Resource-Policy',
  'same-origin',
];

/**
 * A long-lived stream served before Express. `take` either answers the request (the stream is
 * open, or it opened and ended) and resolves true, or resolves false having touched neither
 * the request nor the response: Express then answers it exactly as if this route did not
 * exist, with the controller's validation, errors and all. So a route takes only what it can
 * see is valid, and everything else (a bad query, an unknown symbol) keeps today's answers.
 */
export interface FastStreamRoute {
  /** The exact path (no trailing slash, case as written); other spellings go to Express. */
  readonly path: string;
  /**
   * `query`: each parameter once, parsed as Express parses it (a request that repeats one is
   * Express's). `head`: the name/value list to send with the 200, after the framing's own headers.
   */
  take(
    req: IncomingMessage,
    res: ServerResponse,
    query: URLSearchParams,
    head: readonly string[],
  ): Promise<boolean>;
}

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Streams are open for hours, and what Express puts on a request is held that long: a router
 * state, request and response objects whose per-request prototype switch gives each its own
 * hidden class (about 1 KiB apiece), a response header object filled header by header. A bare
 * `node:http` stream holds none of it, and per open stream that was most of the difference. The
 * stream routes registered here are served straight from the HTTP server's `request` event with
 * what they need from the pipeline (request id, the end-of-stream log line, security headers);
 * anything they do not take, and every other request, goes on to Express unchanged.
 *
 * Left to Express, so its answer stays the one place for them: requests while draining (the
 * drain middleware closes keep-alive), and, with CORS_ORIGINS set, requests that carry an Origin.
 */
@Injectable()
export class StreamRoutes {
  private readonly logger = new Logger('StreamRoutes');
  private readonly routes = new Map<string, FastStreamRoute>();
  /** Sent with every answer of a route, after the request id. */
  private readonly headers: readonly string[];

  constructor(
    @Inject(PINO) private readonly pino: Pino,
    private readonly lifecycle: LifecycleService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    // What Express's CORS middleware adds to a request without an Origin (one with an Origin is
    // left to it): caches keep answers per Origin, and credentials are allowed.
    const cors =
      config.corsOrigins.length > 0
        ? ['Vary', 'Origin', 'Access-Control-Allow-Credentials', 'true']
        : [];
    this.headers = [...cors, ...STREAM_SECURITY_HEADERS];
  }

  register(route: FastStreamRoute): void {
    if (this.routes.has(route.path)) throw new Error(`stream route ${route.path} registered twice`);
    this.routes.set(route.path, route);
  }

  /** A feed's two framings, as every feed spells them: `<base>/stream` (SSE), `<base>/ndjson`. */
  registerFeed(
    base: string,
    take: (
      framing: StreamFraming,
      ...request: Parameters<FastStreamRoute['take']>
    ) => Promise<boolean>,
  ): void {
    for (const framing of [SSE_FRAMING, NDJSON_FRAMING])
      this.register({
        path: `${base}/${framing.transport === 'sse' ? 'stream' : 'ndjson'}`,
        take: (...request) => take(framing, ...request),
      });
  }

  /**
   * Puts the routes in front of the server's request listeners (Express's, and Socket.IO's when
   * it attaches later: it wraps whatever is there, so its own requests still come first).
   */
  install(server: Server): void {
    const rest = server.listeners('request') as RequestListener[];
    server.removeAllListeners('request');
    const passOn: RequestListener = (req, res) => {
      for (const listener of rest) listener.call(server, req, res);
    };
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const found = this.match(req);
      if (found === undefined) passOn(req, res);
      else this.serve(found.route, found.query, req, res, passOn);
    });
  }

  private match(
    req: IncomingMessage,
  ): { route: FastStreamRoute; query: URLSearchParams } | undefined {
    if (req.method !== 'GET' || this.routes.size === 0 || this.lifecycle.draining) return undefined;
    if (this.config.corsOrigins.length > 0 && req.headers.origin !== undefined) return undefined;
    // A body (which Express would parse and might refuse) is not a stream request's.
    const length = req.headers['content-length'];
    if ((length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined)
      return undefined;
    const url = req.url ?? '';
    // Express reads a URL with a fragment differently (it drops it); leave those to it.
    if (url.includes('#')) return undefined;
    const q = url.indexOf('?');
    const route = this.routes.get(q < 0 ? url : url.slice(0, q));
    if (route === undefined) return undefined;
    // Parsed as Express 5's default query parser does (node:querystring, so `??a=1` has a key
    // `?a`); a repeated key is an array there, which the routes' validation refuses: Express's.
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(parseQuery(q < 0 ? '' : url.slice(q + 1)))) {
      if (typeof value !== 'string') return undefined;
      query.append(key, value);
    }
    return { route, query };
  }

  private serve(
    route: FastStreamRoute,
    query: URLSearchParams,
    req: IncomingMessage,
    res: ServerResponse,
    passOn: RequestListener,
  ): void {
    const id = requestIdOf(req);
    const started = Date.now();
    // Before `take`: a stream can open and end (a drain, the client gone) before it resolves.
    const logEnd = (): void => logStreamEnd(this.pino, req, res, id, started);
    res.once('close', logEnd);
    route.take(req, res, query, ['X-Request-Id', id, ...this.headers]).then(
      (taken) => {
        if (taken) return;
        res.off('close', logEnd);
        passOn(req, res);
      },
      (err: unknown) => {
        // Nothing sent yet: Express answers it (its error mapping says what went wrong).
        this.logger.warn(`${route.path}: ${errorText(err)}`);
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.off('close', logEnd);
        passOn(req, res);
      },
    );
  }
}
