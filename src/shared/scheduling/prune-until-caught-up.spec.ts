import { pruneUntilCaughtUp } from './prune-until-caught-up';

describe(pruneUntilCaughtUp.name, () => {
  it('deletes batch after batch until one comes back short, with no cap per run', async () => {
    let backlog = 1_000_001;
    const calls: number[] = [];
    const deleted = await pruneUntilCaughtUp(5_000, async (limit) => {
      const n = Math.min(limit, backlog);
      backlog -= n;
      calls.push(n);
      return n;
    });
    expect(deleted).toBe(1_000_001);
    expect(calls).toHaveLength(201);
    expect(calls.at(-1)).toBe(1);
  });

  it('stops between batches once stopped (shutdown)', async () => {
    let batches = 0;
    const deleted = await pruneUntilCaughtUp(
      10,
      async () => {
        batches++;
        return 10;
      },
      () => batches >= 3,
    );
    expect(deleted).toBe(30);
  });
});
