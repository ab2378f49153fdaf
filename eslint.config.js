// Lint for the whole monorepo: type-aware TypeScript for server and protocol, Svelte 5 for web.
// Formatting is prettier's job, so eslint-config-prettier comes last and switches style rules off.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { defineConfig, globalIgnores } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import svelteConfig from './web/svelte.config.js';

const tsconfigRootDir = import.meta.dirname;

export default defineConfig(
  globalIgnores([
    '**/dist/**',
    '**/build/**',
    '**/.svelte-kit/**',
    '**/node_modules/**',
    'data/**',
    'coverage/**',
    '**/coverage/**',
    '**/test-results/**',
    '**/*.d.ts',
  ]),

  // Plain JavaScript (bin/, config files): Node scripts.
  {
    name: 'vmo/javascript',
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },

  // Server and protocol: typed rules, so a forgotten await or an unhandled union member fails lint.
  {
    name: 'vmo/typescript-typed',
    files: ['server/**/*.ts', 'packages/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },

  // Vitest's asymmetric matchers (expect.any, expect.stringMatching…) are typed `any`, so object
  // patterns built from them would trip this rule in nearly every test.
  {
    name: 'vmo/tests',
    files: ['server/**/*.test.ts', 'server/test/**/*.ts', 'packages/**/*.test.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off' },
  },

  // Web: Svelte components and TypeScript modules. Not type-aware: web/tsconfig.json extends the
  // generated .svelte-kit/tsconfig.json, which exists only after `svelte-kit sync`;
  // svelte-check covers the types there.
  {
    name: 'vmo/web',
    files: ['web/**/*.svelte', 'web/**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommended, svelte.configs.recommended],
    languageOptions: {
      globals: globals.browser,
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
    },
  },
  {
    name: 'vmo/web-svelte-parser',
    files: ['web/**/*.svelte', 'web/**/*.svelte.ts', 'web/**/*.svelte.js'],
    languageOptions: {
      // svelteConfig tells the parser about runes mode and the preprocessors.
      parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
  },

  // Scripts served as-is to the browser.
  {
    name: 'vmo/web-static',
    files: ['web/static/**/*.js'],
    languageOptions: { globals: globals.browser },
  },

  {
    name: 'vmo/everywhere',
    rules: { eqeqeq: 'error' },
  },

  prettier,
  svelte.configs.prettier,
);
