import type { HttpErrorBody } from './contracts.js';

/** A user JWT, or a function asked for one before every request (so a refreshed token is used). */
export type TokenSource = string | (() => string | Promise<string>);

/** How the SDK authenticates its HTTP requests. */
export interface Credentials {
  /** Sent as `Authorization: Bearer`; never put in a URL. */
  token?: TokenSource;
  /** Node: a `Cookie` header such as `access_token=...`. Browsers send their own cookies. */
  cookies?: string;
  /** fetch's credentials mode (browsers): `include` sends cookies cross-origin. Default `same-origin`. */
  credentials?: RequestCredentials;
  /** A fetch to use instead of the global one. */
  fetch?: typeof fetch;
}

/** An HTTP error answer, with the server's message and its `Retry-After`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }

  static async from(res: Response): Promise<HttpError> {
    let message = res.statusText || `HTTP ${res.status}`;
    try {
      const body = JSON.parse(await res.text()) as Partial<HttpErrorBody>;
      if (Array.isArray(body.message)) message = body.message.join('; ');
      else if (typeof body.message === 'string') message = body.message;
    } catch {
      // not JSON: keep the status text
    }
    const retryAfter = Number(res.headers.get('retry-after'));
    return new HttpError(
      res.status,
      message,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
    );
  }
}

/** The endpoint is not served here (or not as a stream): a feed moves on to its next transport. */
export class NotServedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotServedError';
  }
}

export type Query = Record<string, string | number | undefined>;

export interface RequestInit {
  method?: string;
  query?: Query;
  headers?: Record<string, string>;
  body?: unknown;
  signal?: AbortSignal;
}

/** fetch with the base URL and the credentials applied. */
export class HttpClient {
  private readonly fetchFn: typeof fetch;

  constructor(
    private readonly baseUrl: string,
    private readonly creds: Credentials,
  ) {
    this.fetchFn = creds.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get hasToken(): boolean {
    return this.creds.token !== undefined;
  }

  get credentialsMode(): RequestCredentials {
    return this.creds.credentials ?? 'same-origin';
  }

  url(path: string, query: Query = {}): string {
    const url = new URL(path, this.baseUrl);
    for (const [key, value] of Object.entries(query))
      if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  /** The credential headers of one request. */
  async authHeaders(): Promise<Record<string, string>> {
    const { token, cookies } = this.creds;
    const headers: Record<string, string> = {};
    if (token !== undefined)
      headers.authorization = `Bearer ${typeof token === 'string' ? token : await token()}`;
    if (cookies !== undefined) headers.cookie = cookies;
    return headers;
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = { ...(await this.authHeaders()), ...init.headers };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return this.fetchFn(this.url(path, init.query), {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      credentials: this.credentialsMode,
      signal: init.signal,
    });
  }

  /** A JSON request; an error status throws HttpError with the server's message. */
  async json<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await this.fetch(path, {
      ...init,
      headers: { accept: 'application/json', ...init.headers },
    });
    if (!res.ok) throw await HttpError.from(res);
    return (await res.json()) as T;
  }
}
