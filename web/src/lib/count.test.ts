import { describe, expect, it } from 'vitest';
import { count } from './count.js';

describe('count', () => {
  it('is singular for one only', () => {
    expect(count(0, 'job')).toBe('0 jobs');
    expect(count(1, 'job')).toBe('1 job');
    expect(count(2, 'VM')).toBe('2 VMs');
  });
  it('takes an irregular plural and groups thousands', () => {
    expect(count(1, 'entry', 'entries')).toBe('1 entry');
    expect(count(1204, 'entry', 'entries')).toBe('1,204 entries');
  });
});
