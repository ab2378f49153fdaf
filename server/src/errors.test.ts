// Which database errors a retry can mend.
import { describe, expect, it } from 'vitest';
import { isDbUnavailable, isPermanentDbError } from './errors.js';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code });

describe(isPermanentDbError.name, () => {
  it.each(['23503', '23505', '22021', '42P01', '54000'])('calls %s permanent', (code) => {
    expect(isPermanentDbError(pgError(code))).toBe(true);
  });

  it.each(['57P01', '08006', 'ECONNRESET', '40001', '53300', 'XX000'])(
    'leaves %s to the retries',
    (code) => {
      expect(isPermanentDbError(pgError(code))).toBe(false);
    },
  );

  it('is not fooled by an unreachable database, a code-less error or a non-error', () => {
    expect(isPermanentDbError(new Error('Connection terminated unexpectedly'))).toBe(false);
    expect(isDbUnavailable(pgError('23505', 'Connection terminated'))).toBe(true);
    expect(isPermanentDbError(pgError('23505', 'Connection terminated'))).toBe(false);
    expect(isPermanentDbError(new Error('no code'))).toBe(false);
    expect(isPermanentDbError({ code: '23505' })).toBe(false);
    expect(isPermanentDbError(Object.assign(new Error('x'), { code: 23505 }))).toBe(false);
  });
});
