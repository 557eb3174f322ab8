import { logTransport } from './logging.module';

describe('logTransport', () => {
  it('prettifies in development only', () => {
    expect(logTransport('development', () => true)).toMatchObject({ target: 'pino-pretty' });
    expect(logTransport('production', () => true)).toBeUndefined();
    expect(logTransport('test', () => true)).toBeUndefined();
  });

  it('stays JSON in development where pino-pretty is not installed (a pruned image)', () => {
    expect(logTransport('development', () => false)).toBeUndefined();
  });

  it('finds pino-pretty here, where dev dependencies are installed', () => {
    expect(logTransport('development')).toMatchObject({ target: 'pino-pretty' });
  });
});
