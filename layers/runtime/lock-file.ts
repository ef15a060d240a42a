import { randomUUID } from 'node:crypto';
import { link, open, readFile, readlink, rename, stat, unlink, utimes } from 'node:fs/promises';

/**
 * Where this process's pids mean something: the kernel's boot id and the pid namespace
 * (`<boot id>/pid:[<inode>]`), undefined off Linux or where /proc cannot tell. Two
 * processes with the same one (a Lambda sandbox's successive runtimes, local processes)
 * can see whether the other is alive; any other pair cannot (another sandbox or container).
 */
let space: Promise<string | undefined> | undefined;
const processSpace = (): Promise<string | undefined> => {
  space ??= Promise.all([readFile('/proc/sys/kernel/random/boot_id', 'utf8'), readlink('/proc/self/ns/pid')]).then(
    ([boot, ns]) => `${boot.trim()}/${ns}`,
    () => undefined,
  );
  return space;
};

/** True unless the pid is gone (EPERM: it exists, owned by someone else). */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
};

/** Creates the lock file, holding `<pid> <time> <process space>`; false when it exists. */
const create = async (lockFile: string): Promise<boolean> => {
  const holder = `${process.pid} ${new Date().toISOString()} ${(await processSpace()) ?? '-'}\n`;
  try {
    const handle = await open(lockFile, 'wx');
    await handle.writeFile(holder);
    await handle.close();
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
};

/**
 * Removes the lock file, renamed aside first so that only one of several breakers removes
 * it. With `expected`, the file moved aside must still hold that text: one taken meanwhile
 * by a live process is put back (a link, which never replaces a newer lock). True when
 * this call removed the lock it meant to.
 */
const breakLock = async (lockFile: string, expected?: string): Promise<boolean> => {
  const broken = `${lockFile}.${randomUUID()}.stale`;
  if (
    !(await rename(lockFile, broken).then(
      () => true,
      () => false,
    ))
  )
    return false;
  const moved = expected === undefined ? undefined : await readFile(broken, 'utf8').catch(() => undefined);
  const ours = expected === undefined || moved === expected;
  if (!ours) await link(broken, lockFile).catch(() => undefined);
  await unlink(broken).catch(() => undefined);
  return ours;
};

/**
 * The lock's text when its holder is a process of this process's space that has exited
 * (killed mid-work, or exited without releasing it), else undefined.
 */
const deadHolder = async (lockFile: string): Promise<string | undefined> => {
  const text = await readFile(lockFile, 'utf8').catch(() => undefined);
  const [pid, , holderSpace] = text?.trim().split(' ') ?? [];
  const here = await processSpace();
  if (text === undefined || here === undefined || holderSpace !== here || !/^\d+$/.test(pid ?? '')) return undefined;
  return isAlive(Number(pid)) ? undefined : text;
};

/**
 * Takes an exclusive lock file (`open(..., 'wx')`: atomic on local disks and NFS/EFS).
 * A lock whose holder is known dead (a process of this sandbox or machine, by its pid) is
 * taken over at once. One whose holder stopped touching it for `staleMs` (a Lambda
 * container frozen or killed mid-work, elsewhere) is broken and false answered: the caller
 * tries again on its next round.
 *
 * @example
 * if (await tryLock('/mnt/models/m/.1.lock', 60_000)) try { ... } finally { await releaseLock(lock) }
 */
export const tryLock = async (lockFile: string, staleMs: number): Promise<boolean> => {
  if (await create(lockFile)) return true;
  const dead = await deadHolder(lockFile);
  if (dead !== undefined) return (await breakLock(lockFile, dead)) && create(lockFile);
  const info = await stat(lockFile).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > staleMs) await breakLock(lockFile);
  return false;
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
