import { parse as parseCookie } from 'cookie';

export const ACCESS_TOKEN_COOKIE = 'access_token';

export interface CredentialSource {
  authorization?: string | string[] | undefined;
  cookie?: string | string[] | undefined;
}

/**
 * The one place a user token is read from a request or a Socket.IO handshake: the
 * `Authorization: Bearer` header first, then the `access_token` cookie. Never the URL.
 */
export function extractToken(headers: CredentialSource, explicit?: unknown): string | null {
  if (typeof explicit === 'string' && explicit.length > 0) return explicit;
  const auth = Array.isArray(headers.authorization)
    ? headers.authorization[0]
    : headers.authorization;
  if (auth !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const cookieHeader = Array.isArray(headers.cookie) ? headers.cookie.join('; ') : headers.cookie;
  if (cookieHeader !== undefined && cookieHeader.length > 0) {
    const token = parseCookie(cookieHeader)[ACCESS_TOKEN_COOKIE];
    if (token !== undefined && token.length > 0) return token;
  }
  return null;
}
