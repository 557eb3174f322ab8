import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { JwtSecretRequestType, type JwtModuleOptions } from '@nestjs/jwt';
import type { AppConfig } from '../config/app.config';

/**
 * The JWT keys as KeyObjects, built once. Given a string, jsonwebtoken first tries to parse it
 * as a PEM public key on every verify and only then falls back to an HMAC secret; that failed
 * parse (an exception with a stack) cost about a millisecond per request, more than the rest of
 * a poll. Signing is always HS256 with our secret; verification picks the key by the algorithm
 * the caller allows, so an HS256 token is never checked against the RS256 public key (or back).
 */
export function jwtModuleOptions(config: AppConfig): JwtModuleOptions {
  const secret: KeyObject = createSecretKey(Buffer.from(config.auth.jwtSecret, 'utf8'));
  const publicKey: KeyObject | undefined =
    config.auth.jwtPublicKey === undefined ? undefined : createPublicKey(config.auth.jwtPublicKey);
  return {
    secretOrKeyProvider: (type, _token, options) => {
      if (type === JwtSecretRequestType.SIGN) return secret;
      const algorithms = (options as { algorithms?: string[] } | undefined)?.algorithms ?? [];
      if (algorithms.includes('RS256')) {
        if (publicKey === undefined) throw new Error('no JWT public key configured');
        return publicKey;
      }
      return secret;
    },
  };
}
