import fc from 'fast-check';
import { decodeCursor, encodeCursor } from './page-cursor';

describe('page cursors', () => {
  it('round-trip any position', () => {
    fc.assert(
      fc.property(
        fc.date({ noInvalidDate: true, min: new Date(0), max: new Date('9999-12-31') }),
        fc.uuid(),
        (date, id) => {
          // As PostgreSQL prints a timestamptz (microseconds, offset) and as an ISO string.
          const at =
            date.getMilliseconds() % 2 === 0
              ? date.toISOString()
              : `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 23)}417+00`;
          expect(decodeCursor(encodeCursor({ at, id }))).toEqual({ at, id });
        },
      ),
    );
  });

  it('refuse anything they did not make with a 400', () => {
    fc.assert(
      fc.property(fc.string(), (garbage) => {
        let status = 0;
        try {
          decodeCursor(garbage);
        } catch (err) {
          status = (err as { getStatus?: () => number }).getStatus?.() ?? -1;
        }
        expect(status).toBe(400);
      }),
    );
  });
});
