import type { User } from '@vmo/protocol';
import { describe, expect, it } from 'vitest';
import { job } from '$lib/testing/job.js';
import { filterFromUrl, filterToSearch, matchesFilter } from './job-filter.js';

const me: User = {
  id: 'u1',
  username: 'dana',
  role: 'operator',
  provider: 'local',
  createdAt: '',
};

describe(filterFromUrl.name, () => {
  it('round-trips through the URL and ignores unknown statuses', () => {
    const filter = filterFromUrl(new URLSearchParams('status=failed&type=bogus&user=me&q=deploy'));
    expect(filter).toMatchObject({ status: 'failed', type: '', user: 'me', q: 'deploy' });
    expect(filterToSearch(filter)).toBe('?status=failed&user=me&q=deploy');
  });

  it('takes any user name, trimmed on the way out', () => {
    const filter = filterFromUrl(new URLSearchParams('user=lee'));
    expect(filter.user).toBe('lee');
    expect(filterToSearch({ ...filter, user: '  lee ' })).toBe('?user=lee');
    expect(filterToSearch({ user: '   ' })).toBe('');
  });
});

describe(matchesFilter.name, () => {
  it('applies every filter as the server does', () => {
    expect(matchesFilter(job(), { user: 'me', q: 'HELLO', project: 'engine' }, me)).toBe(true);
    expect(matchesFilter(job({ requestedBy: null }), { user: 'me' }, me)).toBe(false);
    expect(matchesFilter(job(), { status: 'failed' }, me)).toBe(false);
    expect(matchesFilter(job(), { q: 'deploy' }, me)).toBe(false);
  });

  it('filters by a user name, which is not "me"', () => {
    const lees = job({ requestedBy: { id: 'u2', username: 'lee' } });
    expect(matchesFilter(lees, { user: 'lee' }, me)).toBe(true);
    expect(matchesFilter(job(), { user: 'lee' }, me)).toBe(false);
    expect(matchesFilter(job(), { user: 'dana' }, me)).toBe(true);
    expect(matchesFilter(job({ requestedBy: null }), { user: 'lee' }, me)).toBe(false);
  });

  it('filters by environment and VM, and round-trips them through the URL', () => {
    const onApp9 = job({ environment: 'prod', vm: 'prod/app9', host: 'web1' });
    expect(matchesFilter(onApp9, { vm: 'prod/app9' }, me)).toBe(true);
    expect(matchesFilter(onApp9, { environment: 'prod' }, me)).toBe(true);
    expect(matchesFilter(onApp9, { vm: 'prod/app8' }, me)).toBe(false);
    expect(matchesFilter(job(), { environment: 'prod' }, me)).toBe(false);
    const filter = filterFromUrl(new URLSearchParams('environment=prod&vm=prod%2Fapp9'));
    expect(filter).toMatchObject({ environment: 'prod', vm: 'prod/app9' });
    expect(filterToSearch(filter)).toBe('?environment=prod&vm=prod%2Fapp9');
  });
});
