// ESLint with typescript-eslint's type-aware rules. Formatting belongs to Prettier; these
// rules catch what the compiler does not: promises nobody awaits or handles, promises passed
// where a callback's result is ignored, and switches that miss a case of a union.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'gen/**',
      'sdk/typescript/gen/**',
      'sdk/typescript/dist/**',
      'dist/**',
      'node_modules/**',
      '.chaos-runs/**',
      'sdk/python/**',
      'sdk/go/**',
      'bench/results/**',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Objects that refer to each other are wired up through closures over a `let` assigned
      // later (server/node/member.ts). `const` there would turn a too-early call, which the
      // closures handle with `?.`, into a TDZ ReferenceError; keep `let` when it is read first.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    // Test doubles and fixtures implement async interfaces (persistence, snapshot delivery,
    // AsyncIterable sources) with `async` on purpose, so they behave like the real thing:
    // throws become rejections and generators are async iterables. Nothing to await there.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    // Plain Node ESM scripts (bin/, scripts/, this file): Node's globals, no type information.
    languageOptions: { globals: globals.node },
  },
);
