import { checkEndpoint, EndpointRefused } from './push-endpoint';

const resolving =
  (table: Record<string, string[]>) =>
  (host: string): Promise<string[]> =>
    host in table ? Promise.resolve(table[host]) : Promise.reject(new Error('ENOTFOUND'));

const dns = resolving({
  'push.example.com': ['93.184.216.34', '2606:2800:220:1::1'],
  'rebound.example.com': ['93.184.216.34', '127.0.0.1'],
  'inside.example.com': ['10.1.2.3'],
  'mapped.example.com': ['::ffff:192.168.0.1'],
});

describe('push endpoint checks', () => {
  it('takes https: to hosts that resolve to public addresses only', async () => {
    await expect(checkEndpoint('https://push.example.com/a', [], dns)).resolves.toMatchObject({
      allowListed: false,
    });
    await expect(checkEndpoint('https://8.8.8.8/x', [], dns)).resolves.toBeDefined();
  });

  it.each([
    ['http://push.example.com/a', /https:/],
    ['not a url', /must be a URL/],
    ['https://user:pw@push.example.com/a', /credentials/],
    ['https://127.0.0.1/a', /public address/],
    ['https://10.0.0.1/a', /public address/],
    ['https://[::1]/a', /public address/],
    ['https://[::ffff:127.0.0.1]/a', /public address/],
    ['https://rebound.example.com/a', /non-public/],
    ['https://inside.example.com/a', /non-public/],
    ['https://mapped.example.com/a', /non-public/],
    ['https://nowhere.example.com/a', /does not resolve/],
    [`https://push.example.com/${'a'.repeat(2048)}`, /at most/],
  ])('refuses %s', async (endpoint, reason) => {
    const check = checkEndpoint(endpoint, [], dns);
    await expect(check).rejects.toThrow(EndpointRefused);
    await expect(checkEndpoint(endpoint, [], dns)).rejects.toThrow(reason);
  });

  it('lets through what starts with an allowed prefix, and only that', async () => {
    const allow = ['http://127.0.0.1:9999/'];
    await expect(checkEndpoint('http://127.0.0.1:9999/p/1', allow, dns)).resolves.toMatchObject({
      allowListed: true,
    });
    await expect(checkEndpoint('http://127.0.0.1:9998/p/1', allow, dns)).rejects.toThrow(
      EndpointRefused,
    );
  });
});
