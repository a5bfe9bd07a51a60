import { loghubRows } from '../../../../bench/lib/loghub-csv';
import { sharedPath } from '../../../../test/support/shared-dir';
import { cosine } from './embedding-provider';
import { HashingEmbeddingProvider, hashingEmbedding, tokenize } from './hashing-embedding.provider';

describe(HashingEmbeddingProvider.name, () => {
  it('produces unit vectors of 384 dimensions, deterministically', async () => {
    const p = new HashingEmbeddingProvider();
    const [a, b, empty] = await p.embed(['TypeError: x is undefined', 'TypeError: x is undefined', '']);
    expect(a).toHaveLength(384);
    expect(Math.sqrt(a!.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 6);
    expect(a).toEqual(b);
    expect(Math.sqrt(empty!.reduce((s, x) => s + x * x, 0))).toBeCloseTo(1, 6);
    expect(p.model).toBe('fixloop-hash-v1-384');
  });

  it('splits camelCase and snake_case and masks plain numbers', () => {
    expect(tokenize('getUserById failed for user_id 42')).toEqual([
      'get',
      'user',
      'id',
      'getuserbyid',
      'failed',
      'user',
      'id',
      '<num>',
    ]);
  });

  it('scores a fix PR closer to its error than to unrelated errors', () => {
    const errors = [
      "TypeError: Cannot read properties of undefined (reading 'items') at CartService.total (cart.service.ts:42)",
      'Error: connect ECONNREFUSED 10.0.3.7:5432 at TCPConnectWrap.afterConnect',
      'PrismaClientKnownRequestError: Unique constraint failed on the fields: (`email`)',
      'Stripe webhook signature verification failed: No signatures found matching the expected signature',
      'RangeError: Maximum call stack size exceeded in renderTree',
    ];
    const prs = [
      'Guard against undefined cart items in CartService.total — fixes TypeError reading items',
      'Retry the Postgres connection on ECONNREFUSED at startup',
      'Handle unique constraint violation on email in signup (Prisma P2002)',
      'Use the raw body for Stripe webhook signature verification',
      'Avoid unbounded recursion in renderTree (Maximum call stack size exceeded)',
    ];
    const ev = errors.map((e) => hashingEmbedding(e));
    prs.forEach((pr, i) => {
      const p = hashingEmbedding(pr);
      const scores = ev.map((e) => cosine(p, e));
      const best = scores.indexOf(Math.max(...scores));
      expect(best).toBe(i);
    });
  });

  it('on real LogHub messages, same-template pairs score higher than different-template pairs', () => {
    for (const dataset of ['OpenStack', 'Spark', 'HDFS', 'Zookeeper', 'Hadoop', 'BGL', 'Linux', 'Thunderbird']) {
      const byEvent = new Map<string, string[]>();
      for (const { content, eventId } of loghubRows(sharedPath('loghub', `${dataset}.csv`))) {
        const list = byEvent.get(eventId) ?? [];
        if (list.length < 6) list.push(content);
        byEvent.set(eventId, list);
      }
      const groups = [...byEvent.values()].filter((g) => g.length >= 2).slice(0, 25);
      const vectors = groups.map((g) => g.map((m) => hashingEmbedding(m)));
      let same = 0;
      let sameN = 0;
      let diff = 0;
      let diffN = 0;
      let nearestRight = 0;
      let nearestN = 0;
      for (let a = 0; a < vectors.length; a++) {
        for (let i = 0; i < vectors[a]!.length; i++) {
          let bestScore = -1;
          let bestGroup = -1;
          for (let b = 0; b < vectors.length; b++) {
            for (let j = 0; j < vectors[b]!.length; j++) {
              if (a === b && i === j) continue;
              const s = cosine(vectors[a]![i]!, vectors[b]![j]!);
              if (a === b) {
                same += s;
                sameN++;
              } else {
                diff += s;
                diffN++;
              }
              if (s > bestScore) {
                bestScore = s;
                bestGroup = b;
              }
            }
          }
          nearestN++;
          if (bestGroup === a) nearestRight++;
        }
      }
      const meanSame = same / sameN;
      const meanDiff = diff / diffN;
      expect({ dataset, better: meanSame > meanDiff + 0.2 }).toEqual({ dataset, better: true });
      // The nearest neighbour shares the template for nearly every message. OpenStack's templates
      // differ only by HTTP verb and path ("GET <*>" vs "POST <*>" with the same status line), which
      // bag-of-n-grams cannot tell apart: measured 0.48 there, >= 0.99 on the seven others.
      const floor = dataset === 'OpenStack' ? 0.4 : 0.95;
      expect({ dataset, accuracy: nearestRight / nearestN >= floor }).toEqual({ dataset, accuracy: true });
    }
  });
});
