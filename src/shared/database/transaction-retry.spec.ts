import { retryOnConflict } from './transaction-retry';

const conflict = (code: string) => Object.assign(new Error(`conflict ${code}`), { driverError: { code } });

describe(retryOnConflict.name, () => {
  it('runs the work again after a deadlock or serialisation failure, telling each retry', async () => {
    const errors = [conflict('40P01'), conflict('40001')];
    const heard: [string | undefined, number][] = [];
    let runs = 0;
    const result = await retryOnConflict(
      async () => {
        runs++;
        const err = errors.shift();
        if (err) throw err;
        return 'done';
      },
      3,
      (code, attempt) => heard.push([code, attempt]),
    );
    expect(result).toBe('done');
    expect(runs).toBe(3);
    expect(heard).toEqual([
      ['40P01', 1],
      ['40001', 2],
    ]);
  });

  it('throws the last conflict once the attempts are spent, and any other error at once', async () => {
    let runs = 0;
    await expect(
      retryOnConflict(async () => {
        runs++;
        throw conflict('40P01');
      }, 2),
    ).rejects.toThrow('conflict 40P01');
    expect(runs).toBe(2);

    runs = 0;
    await expect(
      retryOnConflict(async () => {
        runs++;
        throw Object.assign(new Error('unique violation'), { code: '23505' });
      }, 3),
    ).rejects.toThrow('unique violation');
    expect(runs).toBe(1);
  });
});
