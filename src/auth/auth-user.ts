/** Who a request or connection acts for, as established by its token or stream ticket. */
export interface AuthUser {
  userId: string;
  /**
   * The login (JWT `sid`); null for tokens issued elsewhere (JWT_PUBLIC_KEY, JWT_JWKS_URL), which
   * have no session here and last until their `exp`.
   */
  sessionId: string | null;
  /** Token expiry, epoch seconds; connections are closed when it passes. */
  expiresAt: number;
}
