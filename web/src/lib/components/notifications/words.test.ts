import { describe, expect, it } from 'vitest';
import { describeMatch } from './words.js';

describe('a rule in words', () => {
  it('says whose jobs and which', () => {
    expect(describeMatch({})).toBe('every job');
    expect(describeMatch({ mine: true })).toBe('my jobs');
    expect(
      describeMatch(
        { project: 'shop', target: 'deploy', environment: 'prod', scheduleId: 's1' },
        (id) => (id === 's1' ? 'nightly' : undefined),
      ),
    ).toBe(
      'every job: project shop, target or preset deploy, in prod, started by schedule nightly',
    );
    expect(describeMatch({ scheduleId: 'gone' }, () => undefined)).toBe(
      'every job: started by schedule gone',
    );
  });
});
