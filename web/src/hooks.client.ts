// Runs before any page. zod builds fast parsers with `new Function` unless told not to, and it
// probes for that with `Function('')` the first time an object schema parses: under our CSP
// (script-src 'self', no 'unsafe-eval', SPEC §4) that probe is a violation report. The browser
// parses little, so the interpreted path costs nothing that matters.
import type { ClientInit } from '@sveltejs/kit';
import { config } from 'zod';
import { askMeEarly } from '$lib/api/auth.js';
import { startJobPageEarly } from '$lib/api/jobs.js';
import { OPEN_BYTES, opensAtItsEnd } from '$lib/log/log-history.svelte.js';

config({ jitless: true });

/**
 * Who is signed in is asked at once, while the page's code still loads (not on the sign-in page),
 * and on a job's page the job and its log's end too: that page's code is the largest to load.
 */
export const init: ClientInit = () => {
  const path = window.location.pathname;
  if (!/\/login\/?$/.test(path)) askMeEarly();
  const job = /^\/jobs\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/?$/i.exec(
    path,
  );
  if (job) startJobPageEarly(job[1]!, opensAtItsEnd, OPEN_BYTES);
};
