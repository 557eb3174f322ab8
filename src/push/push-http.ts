import { lookup } from 'node:dns';
import { lookup as lookupAll } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Injectable } from '@nestjs/common';
import { refuseUnlessPublic } from './push-endpoint';

/**
 * A DNS lookup for a connection that refuses hosts resolving to any non-public address. The
 * check and the connection use this one answer, so a name that resolved to a public address at
 * registration cannot be pointed inside the network later (DNS rebinding).
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { family: options.family, hints: options.hints, all: true }, (err, found) => {
    if (err !== null) return callback(err, '');
    try {
      refuseUnlessPublic(
        hostname,
        found.map((a) => a.address),
      );
    } catch (refused) {
      return callback(refused as Error, '');
    }
    // Node asks for every address when it races IPv4 and IPv6 (autoSelectFamily).
    if (options.all === true) return callback(null, found);
    callback(null, found[0].address, found[0].family);
  });
};

/** The side effects of Web Push: resolving endpoint hosts and posting to push services. */
@Injectable()
export class PushHttp {
  async resolveAll(hostname: string): Promise<string[]> {
    return (await lookupAll(hostname, { all: true, verbatim: true })).map((a) => a.address);
  }

  /**
   * Posts and resolves with the status (the answer's body is drained, not read). Redirects are
   * not followed. `publicOnly`: the host must resolve to public addresses only (else the request
   * fails with EndpointRefused). Rejects on network errors and when `signal` aborts.
   */
  post(
    endpoint: URL,
    headers: Record<string, string>,
    body: Buffer,
    signal: AbortSignal,
    publicOnly: boolean,
  ): Promise<number> {
    const request = endpoint.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = request(
        endpoint,
        { method: 'POST', headers, signal, ...(publicOnly ? { lookup: publicOnlyLookup } : {}) },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}
