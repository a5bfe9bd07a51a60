/** PostgreSQL's SQLSTATE of an error, from TypeORM's `QueryFailedError` (its driver error) or the driver's own. */
export function pgErrorCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A data exception (SQLSTATE class 22: a value out of range, too long, or not valid in its type):
 * the input is at fault, and the same statement will fail again.
 */
export function isDataException(err: unknown): boolean {
  return pgErrorCode(err)?.startsWith('22') === true;
}

const RETRYABLE_CODES = new Set(['40P01', '40001']);

/** A deadlock or serialisation failure: the transaction was rolled back and can be run again. */
export function isRetryableConflict(err: unknown): boolean {
  const code = pgErrorCode(err);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/**
 * Runs `work` (one statement or a whole transaction) again after a deadlock or serialisation
 * failure, up to `maxAttempts` runs in all; `onRetry` hears each retry. Any other error, or the
 * last attempt's, is thrown.
 */
export async function retryOnConflict<T>(
  work: () => Promise<T>,
  maxAttempts: number,
  onRetry?: (code: string | undefined, attempt: number) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isRetryableConflict(err) || attempt >= maxAttempts) throw err;
      onRetry?.(pgErrorCode(err), attempt);
    }
  }
}
