import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holderPid: number,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another fixloop process (pid ${holderPid}). ` +
        'PGlite serves one process: stop that process, or point this one at another DATA_DIR, ' +
        'or use a PostgreSQL server (DATABASE_URL) to run several replicas.',
    );
    this.name = 'DataDirLockedError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive lock on an embedded data folder: a file created with O_EXCL holding the owner's pid.
 * A lock left by a dead process is taken over; one held by a live process is refused.
 */
export class DataDirLock {
  private constructor(private readonly file: string) {}

  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, 'fixloop.lock');
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const fd = openSync(file, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const holder = Number.parseInt(readFileSafe(file), 10);
        if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
          throw new DataDirLockedError(path.resolve(dataDir), holder);
        }
        rmSync(file, { force: true }); // stale: its owner is gone
      }
    }
    throw new Error(`Could not lock ${file}`);
  }

  release(): void {
    if (readFileSafe(this.file) === String(process.pid)) rmSync(this.file, { force: true });
  }
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}
