/**
 * Module boundaries of the modular monolith. A module may import from another module only its
 * doors: `*.module.ts` (to import the Nest module), `*.facade.ts` (the one exported service used
 * inside the caller's transaction) and `*.contract.ts` (plain types and pure functions it publishes).
 * Everything else crosses by domain events (src/shared/events). `src/shared` imports no module.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-reaching-into-other-modules',
      severity: 'error',
      comment: "Import another module's module/facade/contract files only; use domain events for the rest.",
      from: { path: '^src/modules/([^/]+)/' },
      to: {
        path: '^src/modules/([^/]+)/',
        pathNot: ['^src/modules/$1/', '\\.(module|facade|contract)\\.ts$'],
      },
    },
    {
      name: 'shared-kernel-is-domain-free',
      severity: 'error',
      comment: 'src/shared holds what every module needs and nothing domain-specific.',
      from: { path: '^src/shared/' },
      to: { path: '^src/modules/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.spec\\.ts$' },
  },
};
