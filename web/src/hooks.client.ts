// Runs before any page. zod builds fast parsers with `new Function` unless told not to, and it
// probes for that with `Function('')` the first time an object schema parses: under our CSP
// (script-src 'self', no 'unsafe-eval', SPEC §4) that probe is a violation report. The browser
// parses little, so the interpreted path costs nothing that matters.
import type { ClientInit } from '@sveltejs/kit';
import { config } from 'zod';
import { askMeEarly } from '$lib/api/auth.js';

config({ jitless: true });

/** Who is signed in is asked at once, while the page's code still loads (not on the sign-in page). */
export const init: ClientInit = () => {
  if (!/\/login\/?$/.test(window.location.pathname)) askMeEarly();
};
