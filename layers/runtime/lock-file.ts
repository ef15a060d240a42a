import { randomUUID } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';

/**
 * Takes an exclusive lock file (`open(..., 'wx')`: atomic on local disks and NFS/EFS), or
 * breaks it when its holder stopped touching it for `staleMs` (a Lambda container frozen
 * or killed mid-work) and answers false: the caller tries again on its next round.
 *
 * @example
 * if (await tryLock('/mnt/models/m/.1.lock', 60_000)) try { ... } finally { await unlink(lock) }
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
