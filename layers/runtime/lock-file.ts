import { randomUUID } from 'node:crypto';
import { open, rename, stat, unlink, utimes } from 'node:fs/promises';

/**
 * Takes an exclusive lock file (`open(..., 'wx')`: atomic on local disks and NFS/EFS), or
 * breaks it when its holder stopped touching it for `staleMs` (a Lambda container frozen
 * or killed mid-work) and answers false: the caller tries again on its next round.
 *
 * @example
 * if (await tryLock('/mnt/models/m/.1.lock', 60_000)) try { ... } finally { await releaseLock(lock) }
 */
export const tryLock = async (lockFile: string, staleMs: number): Promise<boolean> => {
  try {
    const handle = await open(lockFile, 'wx');
    await handle.writeFile(`${process.pid} ${new Date().toISOString()}\n`);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const info = await stat(lockFile).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > staleMs) {
      // Renaming first means only one of several waiters breaks it.
      const broken = `${lockFile}.${randomUUID()}.stale`;
      if (
        await rename(lockFile, broken).then(
          () => true,
          () => false,
        )
      )
        await unlink(broken).catch(() => undefined);
    }
    return false;
  }
};

/**
 * Tells the others that the holder is alive (the lock's mtime is what `tryLock` judges).
 * Best effort: a failed touch only risks a take-over after `staleMs`.
 *
 * @example
 * onProgress = () => void touchLock(lock);
 */
export const touchLock = async (lockFile: string): Promise<void> => {
  const now = new Date();
  await utimes(lockFile, now, now).catch(() => undefined);
};

/**
 * Gives the lock up. A lock already gone (broken as stale by another process) is not an error.
 *
 * @example
 * await releaseLock('/mnt/models/m/.1.lock');
 */
export const releaseLock = async (lockFile: string): Promise<void> => {
  await unlink(lockFile).catch(() => undefined);
};
