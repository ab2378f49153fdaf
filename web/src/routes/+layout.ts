// A pure client-side app (SPEC §6): the server only hands out web/build with an index.html fallback.
export const ssr = false;
export const prerender = false;
