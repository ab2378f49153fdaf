// SvelteKit as a static SPA: the server serves web/build and answers unknown paths with index.html.
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // Runes everywhere in our code; libraries keep whatever mode they were written in.
    runes: ({ filename }) => (filename.split(/[/\\]/).includes('node_modules') ? undefined : true),
  },
  kit: {
    adapter: adapter({ pages: 'build', assets: 'build', fallback: 'index.html', strict: true }),
    // The fallback page is served at every depth (/jobs/1f…), so asset URLs must be absolute.
    paths: { relative: false },
    // SPEC §4: kit hashes its one inline bootstrap script, so scripts are 'self' + that hash and
    // never 'unsafe-inline' (the theme is set by static/theme-init.js, a file). Styles do allow
    // inline: Svelte and bits-ui set style attributes, and a style cannot run code.
    csp: {
      mode: 'hash',
      directives: {
        'default-src': ['self'],
        'script-src': ['self'],
        'style-src': ['self', 'unsafe-inline'],
        // The backend-URL override (Settings, SPEC §4) talks to another origin; scripts stay 'self'.
        'connect-src': ['self', 'http:', 'https:', 'ws:', 'wss:'],
        'img-src': ['self', 'data:'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
  },
};

export default config;
