// Dev server on 5173 in front of the backend on 3000; the proxy keeps the Host header, so the
// backend's Host and Origin checks (SPEC §4) see localhost:5173 on both and stay same-origin.
import { sveltekit } from '@sveltejs/kit/vite';
import tailwindcss from '@tailwindcss/vite';
import { defineConfig } from 'vite';

const backend = process.env.VMO_BACKEND ?? 'http://127.0.0.1:3000';

export default defineConfig({
  plugins: [tailwindcss(), sveltekit()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': { target: backend },
      '/socket.io': { target: backend, ws: true },
    },
  },
  build: {
    rolldownOptions: {
      treeshake: {
        // @vmo/protocol builds its zod schemas at module top level, which a bundler must keep
        // unless told the package is pure. The web takes mostly types and constants from it, so
        // say so here; otherwise importing JOBS_NAMESPACE would ship all of zod. Other modules
        // keep their own (package.json) verdict.
        moduleSideEffects: (id) => (/[/\\]packages[/\\]protocol[/\\]/.test(id) ? false : undefined),
      },
    },
  },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
});
