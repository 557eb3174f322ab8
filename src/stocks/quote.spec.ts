import { MAX_STREAM_SYMBOLS, validStreamSymbols } from './quote';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('validStreamSymbols', () => {
  it('takes one symbols parameter of well-formed symbols, repeats dropped', () => {
    expect(validStreamSymbols(q('symbols=AAPL,MSFT,AAPL'))).toEqual(['AAPL', 'MSFT']);
    expect(validStreamSymbols(q('symbols=BRK.B'))).toEqual(['BRK.B']);
    expect(validStreamSymbols(q('symbols=AAPL%2CMSFT'))).toEqual(['AAPL', 'MSFT']);
  });

  it('leaves anything else to the controller (null)', () => {
    for (const s of [
      '',
      'symbols=',
      'symbols=aapl',
      'symbols=AAPL,,MSFT',
      'symbols=AAPL&symbols=MSFT',
      'symbols=AAPL&x=1',
      'x=1&symbols=AAPL',
      'symbols=ABCDEFGHIJK',
      'symbols=A%0AB',
      `symbols=${Array.from({ length: MAX_STREAM_SYMBOLS + 1 }, (_, i) => `S${i}`).join(',')}`,
    ])
      expect({ s, symbols: validStreamSymbols(q(s)) }).toEqual({ s, symbols: null });
    const fifty = Array.from({ length: MAX_STREAM_SYMBOLS }, (_, i) => `S${i}`);
    expect(validStreamSymbols(q(`symbols=${fifty.join(',')}`))).toEqual(fifty);
  });
});
