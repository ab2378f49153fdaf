// Already signed in? Skip the form and go where the user was heading.
import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import type { AuthProviders, SsoError } from '@vmo/protocol';
import { fetchMe, fetchProviders } from '$lib/api/auth.js';
import { safeNext } from '$lib/api/login-redirect.js';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ fetch, url }) => {
  const next = safeNext(url.searchParams.get('next'));
  // An unreachable server is the form's problem to report on submit, not a reason to fail here.
  const user = await fetchMe(fetch).catch(() => null);
  if (user) redirect(307, resolve(next));
  // Password sign-in unless the server says otherwise; an unreachable server shows the form.
  const providers: AuthProviders = await fetchProviders(fetch).catch(() => ({
    local: true,
    oidc: null,
  }));
  // The console's one-time link lands here with ?link=invalid when it was used or mistyped, a
  // single sign-on that came back refused with ?error=<code>.
  const error = url.searchParams.get('error');
  return {
    next,
    providers,
    linkInvalid: url.searchParams.get('link') === 'invalid',
    ssoError: error?.startsWith('SSO_') ? (error as SsoError) : null,
  };
};
