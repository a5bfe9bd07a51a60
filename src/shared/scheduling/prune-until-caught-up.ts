/**
 * Runs a batched delete (`deleteBatch(limit)` deletes up to `limit` expired rows and returns how
 * many) again and again until a batch comes back short: the table has caught up. No cap per run,
 * so that deletion keeps pace with however fast the table is written; each statement stays short
 * (its own rows locked, `SKIP LOCKED` so replicas share the work). `stopped` is checked between
 * batches (shutdown). Returns how many rows were deleted.
 */
export async function pruneUntilCaughtUp(
  batch: number,
  deleteBatch: (limit: number) => Promise<number>,
  stopped: () => boolean = () => false,
): Promise<number> {
  let deleted = 0;
  for (let n = batch; n === batch && !stopped();) {
    n = await deleteBatch(batch);
    deleted += n;
  }
  return deleted;
}
