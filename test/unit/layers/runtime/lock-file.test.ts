import { spawnSync } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { releaseLock, tryLock } from '#runtime/lock-file.ts';
import { tempDir } from '../../../helpers/bundles.ts';

/** Far longer than any test takes: only a holder known dead loses its lock. */
const STALE_MS = 60 * 60_000;

/** The pid of a process of this machine that has exited (spawned, run, reaped). */
const exitedPid = (): number => {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  if (!pid) throw new Error('could not spawn a child');
  return pid;
};

/** A lock this process took, then rewritten as if `pid` had taken it (the pid is its first field). */
const lockHeldBy = async (pid: number) => {
  const lock = path.join(await tempDir('lock'), '.1.lock');
  expect(await tryLock(lock, STALE_MS)).toBe(true);
  const text = (await readFile(lock, 'utf8')).replace(/^\d+/, String(pid));
  await writeFile(lock, text);
  return { lock, text };
};

describe('tryLock', () => {
  it('takes over at once the fresh lock of a process of this machine that has exited', async () => {
    // Prepare: as a cold-start child killed in the middle of a background build leaves it.
    const { lock, text } = await lockHeldBy(exitedPid());

    // Act
    const taken = await tryLock(lock, STALE_MS);

    // Assess: ours now, and releasable.
    expect(taken).toBe(true);
    const ours = await readFile(lock, 'utf8');
    expect(ours).not.toBe(text);
    expect(ours.startsWith(`${process.pid} `)).toBe(true);
    await releaseLock(lock);
  });

  it('leaves the lock of a live process of this machine alone', async () => {
    // Prepare: held by the process that runs this test's runner (alive, not this one).
    const { lock, text } = await lockHeldBy(process.ppid);

    // Act
    const taken = await tryLock(lock, STALE_MS);

    // Assess
    expect(taken).toBe(false);
    expect(await readFile(lock, 'utf8')).toBe(text);
  });

  it('judges a holder of another machine or container by its age alone', async () => {
    // Prepare: an exited pid, but written where pids are not ours to check (another boot id).
    const { lock } = await lockHeldBy(exitedPid());
    const elsewhere = (await readFile(lock, 'utf8')).replace(
      / \S+\n$/,
      ' 00000000-0000-0000-0000-000000000000/pid:[1]\n',
    );
    await writeFile(lock, elsewhere);

    // Act: fresh, then an hour old.
    const fresh = await tryLock(lock, STALE_MS);
    const longAgo = new Date(Date.now() - 2 * STALE_MS);
    await utimes(lock, longAgo, longAgo);
    const broken = await tryLock(lock, STALE_MS);
    const retaken = await tryLock(lock, STALE_MS);

    // Assess: kept while fresh; once stale, broken (busy this round) and taken on the next.
    expect([fresh, broken, retaken]).toEqual([false, false, true]);
  });
});
