// The job and its log's end are asked for as the app starts when it starts on this page
// (hooks.client.ts), else as soon as the route is known, beside the layout's "who am I", instead
// of once the page has rendered (issue 26: a job opens at its end quickly). No `parent()`: this
// load runs alongside the layout's.
import { startJobPageOnce } from '$lib/api/jobs.js';
import { OPEN_BYTES, opensAtItsEnd } from '$lib/log/log-history.svelte.js';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ params }) => ({
  early: startJobPageOnce(params.id, opensAtItsEnd, OPEN_BYTES),
});
