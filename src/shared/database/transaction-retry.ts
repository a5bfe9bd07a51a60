/** PostgreSQL's SQLSTATE of an error, from TypeORM's `QueryFailedError` (its driver error) or the driver's own. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

const RETRYABLE_CODES = new Set(['40P01', '40001']);

/** A deadlock or serialisation failure: the transaction was rolled back and can be run again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code !== undefined && RETRYABLE_CODES.has(code);
}
