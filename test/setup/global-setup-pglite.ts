/** PGlite tests open a fresh in-memory database per app; nothing to start. */
export default async function globalSetup(): Promise<void> {
  process.env.FIXLOOP_PGLITE_READY = '1';
}
