// The job and its log's end are asked for as soon as the route is known, beside the layout's
// "who am I" and the page's code, instead of once the page has rendered (issue 26: a job opens at
// its end quickly). No `parent()`: this load runs alongside the layout's.
import { startJobPage } from '$lib/api/jobs.js';
import { OPEN_BYTES, opensAtItsEnd } from '$lib/log/log-history.svelte.js';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params }) => ({
  early: startJobPage(params.id, opensAtItsEnd, OPEN_BYTES),
});
