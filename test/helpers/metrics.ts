import { http } from './http';

/** One sample of an instance's /metrics: `name{labels}` (labels as printed) -> value. */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await http(baseUrl, '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const samples = new Map<string, number>();
  for (const line of res.text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

export type Family = 'room' | 'user' | 'quote' | 'control';

/** realtime_bus_received_total by family: what an instance received from Redis. */
export async function busReceived(baseUrl: string): Promise<Record<Family, number>> {
  const m = await scrape(baseUrl);
  const get = (family: Family): number =>
    m.get(`realtime_bus_received_total{family="${family}"}`) ?? NaN;
  return { room: get('room'), user: get('user'), quote: get('quote'), control: get('control') };
}

/** realtime_bus_channels by family: the channels an instance holds for its own clients. */
export async function busChannels(
  baseUrl: string,
): Promise<Record<Exclude<Family, 'control'>, number>> {
  const m = await scrape(baseUrl);
  const get = (family: string): number => m.get(`realtime_bus_channels{family="${family}"}`) ?? NaN;
  return { room: get('room'), user: get('user'), quote: get('quote') };
}
