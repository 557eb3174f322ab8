import { isIP } from 'node:net';
import { isPublicAddress } from './push-address';

/** An endpoint this service will not post to; the message says why (shown to the registrant). */
export class EndpointRefused extends Error {}

/** Push services' endpoints are short; a longer one is not one. */
const MAX_ENDPOINT_LENGTH = 2048;

/** Resolves a host name to every address it has. */
export type ResolveAll = (hostname: string) => Promise<string[]>;

export interface CheckedEndpoint {
  url: URL;
  /** Starts with a PUSH_ENDPOINT_ALLOW prefix: any scheme and address the operator vouched for. */
  allowListed: boolean;
}

/**
 * What can be told from the text alone: a URL, `https:`, no credentials, and not an IP literal
 * of a private range, unless it starts with an allowed prefix.
 */
export function checkEndpointUrl(endpoint: string, allow: readonly string[]): CheckedEndpoint {
  if (endpoint.length > MAX_ENDPOINT_LENGTH)
    throw new EndpointRefused(`endpoint must be at most ${MAX_ENDPOINT_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new EndpointRefused('endpoint must be a URL');
  }
  if (allow.some((prefix) => endpoint.startsWith(prefix))) return { url, allowListed: true };
  if (url.protocol !== 'https:') throw new EndpointRefused('endpoint must be an https: URL');
  if (url.username !== '' || url.password !== '')
    throw new EndpointRefused('endpoint must not carry credentials');
  const host = literalHost(url);
  if (isIP(host) !== 0 && !isPublicAddress(host))
    throw new EndpointRefused('endpoint must be a public address');
  return { url, allowListed: false };
}

/**
 * The URL check, and for a host name every address it resolves to must be public (one private
 * address among public ones is enough to be refused: a connection may pick any of them).
 */
export async function checkEndpoint(
  endpoint: string,
  allow: readonly string[],
  resolveAll: ResolveAll,
): Promise<CheckedEndpoint> {
  const checked = checkEndpointUrl(endpoint, allow);
  const host = literalHost(checked.url);
  if (checked.allowListed || isIP(host) !== 0) return checked;
  let addresses: string[];
  try {
    addresses = await resolveAll(host);
  } catch {
    throw new EndpointRefused(`endpoint host ${host} does not resolve`);
  }
  refuseUnlessPublic(host, addresses);
  return checked;
}

/** Throws unless there are addresses and every one is public. */
export function refuseUnlessPublic(host: string, addresses: readonly string[]): void {
  const inside = addresses.find((a) => !isPublicAddress(a));
  if (addresses.length === 0 || inside !== undefined)
    throw new EndpointRefused(`endpoint host ${host} resolves to a non-public address`);
}

/** The host as an address would be written: IPv6 without its URL brackets. */
const literalHost = (url: URL): string => url.hostname.replace(/^\[(.*)\]$/, '$1');
