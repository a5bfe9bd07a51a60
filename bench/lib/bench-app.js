'use strict';
const path = require('node:path');

/**
 * The real app from the build in `dist`, configured for a bench: workers off, errors only in the
 * log, fixed bench keys and `lokiSecret` for the ingest routes; `env` adds or overrides settings
 * (`DATABASE_URL` at least). Not listening yet.
 */
async function createBenchApp(dist, lokiSecret, env) {
  require('reflect-metadata');
  const { createApp } = require(path.join(dist, 'src/app.factory.js'));
  const { loadConfig } = require(path.join(dist, 'src/shared/config/config.loader.js'));
  const config = loadConfig({
    ADMIN_API_KEY: 'bench-admin-key-0123456789',
    AGENT_API_KEY: 'bench-agent-key-0123456789',
    LOKI_WEBHOOK_SECRET: lokiSecret,
    GITHUB_WEBHOOK_SECRET: 'bench-github-secret-0123',
    WORKERS_ENABLED: 'false',
    LOG_LEVEL: 'error',
    ...env,
  });
  return createApp(config); // errors only (LOG_LEVEL=error), on stderr
}

module.exports = { createBenchApp };
