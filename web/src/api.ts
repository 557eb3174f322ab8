import type { HttpErrorBody } from '@realtime-service/client';

/** REST calls with the HttpOnly session cookie (same origin); errors carry the server's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface Transfer<T> {
  body: T;
  bytes: number;
}

export async function call<T>(
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<Transfer<T>> {
  const res = await fetch(path, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    credentials: 'same-origin',
    headers: init.body === undefined ? {} : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: init.signal,
  });
  const text = await res.text();
  const body = (text === '' ? null : JSON.parse(text)) as T & Partial<HttpErrorBody>;
  if (!res.ok) {
    const m = body?.message;
    throw new ApiError(res.status, Array.isArray(m) ? m.join('; ') : (m ?? res.statusText));
  }
  return { body, bytes: text.length };
}

export const api = async <T>(
  path: string,
  init?: { method?: string; body?: unknown },
): Promise<T> => (await call<T>(path, init)).body;
