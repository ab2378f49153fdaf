// Already signed in? Skip the form and go where the user was heading.
import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { fetchMe } from '$lib/api/auth.js';
import { safeNext } from '$lib/api/login-redirect.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ fetch, url }) => {
  const next = safeNext(url.searchParams.get('next'));
  // An unreachable server is the form's problem to report on submit, not a reason to fail here.
  const user = await fetchMe(fetch).catch(() => null);
  if (user) redirect(307, resolve(next));
  // The console's one-time link lands here with ?link=invalid when it was used or mistyped.
  return { next, linkInvalid: url.searchParams.get('link') === 'invalid' };
};
