'use strict';

/**
 * The admin URL of the PostgreSQL server a bench runs on (`TEST_DATABASE_URL`, else
 * postgres://postgres:postgres@127.0.0.1:5432/postgres) and the URL of the bench's own database
 * `name` on it. Non-loopback hosts are refused: a bench drops and creates its database.
 */
function benchDatabaseUrls(name) {
  const admin = new URL(process.env.TEST_DATABASE_URL || 'postgres://postgres:postgres@127.0.0.1:5432/postgres');
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(admin.hostname)) {
    throw new Error(`refusing a non-loopback database host: ${admin.hostname}`);
  }
  const bench = new URL(admin.toString());
  bench.pathname = `/${name}`;
  return { admin: admin.toString(), bench: bench.toString() };
}

module.exports = { benchDatabaseUrls };
