export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  token?: string;
  apiKey?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

/** A JSON request against an instance; never throws on HTTP error statuses. */
export async function http<T = unknown>(
  baseUrl: string,
  path: string,
  options: RequestOptions = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  } else if (body !== undefined) {
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${path}`, {
    method: options.method ?? (body !== undefined ? 'POST' : 'GET'),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text !== '')
    parsed = JSON.parse(text);
  return { status: res.status, headers: res.headers, body: parsed as T, text };
}

export interface Registered {
  token: string;
  user: {
    id: string;
    username: string;
    displayName: string;
    goalWeightKg: number | null;
    createdAt: string;
  };
}

let counter = 0;
/** Registers a fresh user with a unique name. */
export async function registerUser(baseUrl: string, prefix = 'u'): Promise<Registered> {
  counter++;
  const username = `${prefix}${process.pid}_${counter}_${Math.floor(Math.random() * 1e6)}`
    .slice(0, 32)
    .toLowerCase();
  const res = await http<{ accessToken: string; user: Registered['user'] }>(
    baseUrl,
    '/api/auth/register',
    {
      body: { username, password: 'correct horse battery' },
    },
  );
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${res.text}`);
  return { token: res.body.accessToken, user: res.body.user };
}

/** A group room created by `owner` with `members`; the raw result, for tests of its status too. */
export function createGroupRoom(
  baseUrl: string,
  owner: Registered,
  members: Registered[],
  name = 'room',
): Promise<HttpResult<{ id: string; memberIds: string[] }>> {
  return http(baseUrl, '/api/rooms', {
    token: owner.token,
    body: { name, memberIds: members.map((m) => m.user.id) },
  });
}
