import type { RedisClient } from '../redis/redis.connections';
import { withScripts } from '../redis/scripts';
import { makeQuote, utcDay, type Quote, type QuoteInput } from './quote';
import { QuoteStore } from './quote.store';

// KEYS[1] latest hash (symbol -> "tsMs|price|openPrice"), KEYS[2] day-open hash prefix,
// KEYS[3] the producer lock; ARGV[1] the holder the lock must name ("" for no fence), then
// quadruples symbol, price, tsMs, day. (The lock is always passed: on a cluster every key a
// script touches must be declared and in its slot, and "" is neither.)
// Returns, per accepted input, its index and open price.
const ACCEPT = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[1] then return {} end
local out = {}
local n = (#ARGV - 1) / 4
for i = 0, n - 1 do
  local sym = ARGV[2 + i * 4]
  local price = ARGV[3 + i * 4]
  local ts = tonumber(ARGV[4 + i * 4])
  local day = ARGV[5 + i * 4]
  local cur = redis.call('HGET', KEYS[1], sym)
  local newer = true
  if cur then
    local sep = string.find(cur, '|', 1, true)
    if tonumber(string.sub(cur, 1, sep - 1)) > ts then newer = false end
  end
  if newer then
    local openKey = KEYS[2] .. day
    local open = redis.call('HGET', openKey, sym)
    if not open then
      open = price
      redis.call('HSET', openKey, sym, price)
      redis.call('EXPIRE', openKey, 259200)
    end
    redis.call('HSET', KEYS[1], sym, ts .. '|' .. price .. '|' .. open)
    table.insert(out, i)
    table.insert(out, open)
  end
end
return out
`;

/**
 * Every stocks key carries the `{stocks}` hash tag, the producer lock included (`stocksKey`):
 * the accept script reads the lock and writes both hashes, and on a Redis Cluster the keys one
 * script touches must live in one slot.
 */
export const stocksKey = (prefix: string, name: string): string => `${prefix}{stocks}:${name}`;

const parse = (symbol: string, value: string): Quote => {
  const [ts, price, open] = value.split('|');
  return makeQuote({ symbol, price: Number(price), ts: Number(ts) }, Number(open));
};

/** The script as a command (`withScripts`): KEYS first, then ARGV, as described above. */
interface QuoteCommands {
  rtStocksAccept(...args: string[]): Promise<Array<number | string>>;
}

export class RedisQuoteStore extends QuoteStore {
  private readonly redis: RedisClient & QuoteCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    super();
    this.redis = withScripts<QuoteCommands>(redis, {
      rtStocksAccept: { numberOfKeys: 3, lua: ACCEPT },
    });
  }

  async accept(inputs: QuoteInput[], fence?: { key: string; holder: string }): Promise<Quote[]> {
    if (inputs.length === 0) return [];
    const args = inputs.flatMap((q) => [q.symbol, String(q.price), String(q.ts), utcDay(q.ts)]);
    const result = await this.redis.rtStocksAccept(
      stocksKey(this.prefix, 'latest'),
      stocksKey(this.prefix, 'open:'),
      fence?.key ?? stocksKey(this.prefix, 'producer'),
      fence?.holder ?? '',
      ...args,
    );
    const quotes: Quote[] = [];
    for (let i = 0; i < result.length; i += 2) {
      quotes.push(makeQuote(inputs[Number(result[i])], Number(result[i + 1])));
    }
    return quotes;
  }

  async all(): Promise<Quote[]> {
    const latest = await this.redis.hgetall(stocksKey(this.prefix, 'latest'));
    return Object.entries(latest).map(([symbol, value]) => parse(symbol, value));
  }

  async latest(symbols: readonly string[]): Promise<Quote[]> {
    if (symbols.length === 0) return [];
    const values = await this.redis.hmget(stocksKey(this.prefix, 'latest'), ...symbols);
    const out: Quote[] = [];
    values.forEach((value, i) => {
      if (value !== null) out.push(parse(symbols[i], value));
    });
    return out;
  }
}
