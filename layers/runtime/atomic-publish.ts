import { randomUUID } from 'node:crypto';
import { access, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { releaseLock, touchLock, tryLock } from './lock-file.ts';

/**
 * Publishing a folder into a cache shared by processes (Lambda containers on one EFS
 * mount): readers see it whole or not at all, and racing publishers build it once.
 *
 * The protocol, for a folder `<parent>/<id>`:
 * 1. take the lock file `<parent>/.<id>.lock` (`lock-file.ts`: exclusive create; a lock whose
 *    holder has exited, or stopped touching it, is taken over); the others wait for the result or say busy;
 * 2. under the lock, look again: a complete folder may have appeared meanwhile;
 * 3. stage into `<parent>/.staging-<id>` (`resume`: a stable name, kept when a step fails so
 *    the next attempt continues from what is there) or `<parent>/.staging-<id>-<uuid>`
 *    (`fresh`: removed when a step fails; those of publishers that died are removed first);
 * 4. verify the staged folder: a step that throws publishes nothing;
 * 5. write the completion marker `.complete`, last;
 * 6. rename the staged folder into place (atomic on one file system), unless a complete
 *    folder is already there: one from a publisher that outlived a lock taken as stale,
 *    which readers may have open, so it is kept.
 *
 * Readers trust a folder only when it has the marker (`isComplete`). The model store
 * (`store.ts`) and the optimised-graph cache (`optimized/build.ts`) publish through it.
 */

/** The marker of a complete folder: written after everything else, inside the staged folder. */
export const COMPLETE_MARKER = '.complete';

/** True when the path exists (any kind of entry). */
export const isPresent = async (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

/**
 * True when `dir` was published whole (its marker exists).
 *
 * @example
 * await isComplete('/mnt/models/tiny-gpt2/1'); // => true once a publisher renamed it into place
 */
export const isComplete = (dir: string): Promise<boolean> => isPresent(path.join(dir, COMPLETE_MARKER));

/** Keeps the lock fresh: a long step calls it as it makes progress (best effort). */
export type Heartbeat = () => Promise<void>;

/** What a publisher does at each step; `T` is what a complete folder is to the caller. */
export interface PublishSteps<T> {
  /**
   * The complete folder when one is there and usable as is, else undefined. Asked before
   * the lock, by waiters on every round, under the lock, and once more before the rename.
   */
  existing(): Promise<T | undefined>;
  /** Fills the staging folder (it exists, and under `resume` may hold an earlier attempt's files). */
  stage(staging: string, heartbeat: Heartbeat): Promise<void>;
  /** Throws when the staged folder must not be published. */
  verify(staging: string, heartbeat: Heartbeat): Promise<void>;
}

export interface PublishOptions {
  /** A lock untouched for this long is taken to belong to a dead (or frozen) process. */
  lockStaleMs: number;
  /** `resume`: one stable staging folder, kept on failure; `fresh`: a new one per attempt. */
  staging: 'resume' | 'fresh';
}

export interface WaitOptions {
  /** How often waiters look for the holder's result. */
  pollMs: number;
  /** How long a waiter waits before giving up. */
  timeoutMs: number;
  /** What the holder is doing, for the timeout's message: `fetch m@1`. */
  activity: string;
}

/** published: this call renamed its staged folder into place. found: a complete one was there. */
export type Publication<T> = { status: 'published' } | { status: 'found'; found: T };

const lockFileOf = (dir: string): string => path.join(path.dirname(dir), `.${path.basename(dir)}.lock`);
const stagingOf = (dir: string): string => path.join(path.dirname(dir), `.staging-${path.basename(dir)}`);

/**
 * Publishes `dir` through `steps`, or waits for the process that holds its lock and
 * answers what it published. Throws what a step threw (nothing is published then), or
 * when the wait outlasts `wait.timeoutMs`.
 *
 * @example
 * const outcome = await publishOrWait('/mnt/models/m/1', steps, { lockStaleMs: 60_000, staging: 'resume' },
 *   { pollMs: 200, timeoutMs: 600_000, activity: 'fetch m@1' });
 * outcome.status; // => 'published' (this process staged it) or 'found' (another one had)
 */
export const publishOrWait = async <T>(
  dir: string,
  steps: PublishSteps<T>,
  options: PublishOptions,
  wait: WaitOptions,
): Promise<Publication<T>> => {
  await mkdir(path.dirname(dir), { recursive: true });
  const deadline = Date.now() + wait.timeoutMs;
  for (;;) {
    const found = await steps.existing();
    if (found !== undefined) return { status: 'found', found };
    const outcome = await publishIfFree(dir, steps, options);
    if (outcome) return outcome;
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for another process to ${wait.activity} (lock ${lockFileOf(dir)}).`);
    }
    await sleep(wait.pollMs);
  }
};

/**
 * Publishes `dir` through `steps` unless another process holds its lock (`busy`: nothing
 * done; a lock found stale is broken, so a later call can take it). Throws what a step threw.
 *
 * @example
 * await publishUnlessBusy('/mnt/models/.optimized/m/1/3f2a', steps, { lockStaleMs: 600_000, staging: 'fresh' });
 * // => { status: 'busy' } while another builder holds the lock
 */
export const publishUnlessBusy = async <T>(
  dir: string,
  steps: PublishSteps<T>,
  options: PublishOptions,
): Promise<Publication<T> | { status: 'busy' }> => {
  await mkdir(path.dirname(dir), { recursive: true });
  const found = await steps.existing();
  if (found !== undefined) return { status: 'found', found };
  return (await publishIfFree(dir, steps, options)) ?? { status: 'busy' };
};

/** Steps 1 to 6 when the lock is free; undefined when another process holds it. */
const publishIfFree = async <T>(
  dir: string,
  steps: PublishSteps<T>,
  options: PublishOptions,
): Promise<Publication<T> | undefined> => {
  const lock = lockFileOf(dir);
  if (!(await tryLock(lock, options.lockStaleMs))) return undefined;
  try {
    const done = await steps.existing();
    if (done !== undefined) return { status: 'found', found: done };
    if (options.staging === 'fresh') await removeDebris(dir);
    const staging = options.staging === 'resume' ? stagingOf(dir) : `${stagingOf(dir)}-${randomUUID()}`;
    try {
      const heartbeat = () => touchLock(lock);
      await mkdir(staging, { recursive: true });
      await steps.stage(staging, heartbeat);
      await steps.verify(staging, heartbeat);
      await writeFile(path.join(staging, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
      const other = await steps.existing();
      if (other !== undefined) {
        await rm(staging, { recursive: true, force: true });
        return { status: 'found', found: other };
      }
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
      return { status: 'published' };
    } finally {
      // A fresh staging folder is nobody's once this attempt ends; a resumable one is kept.
      if (options.staging === 'fresh') await rm(staging, { recursive: true, force: true });
    }
  } finally {
    await releaseLock(lock);
  }
};

/**
 * Fresh staging folders and discarded folders of this id left by processes that died
 * (the lock makes them nobody's). Matched by prefix, so ids of this mode hold no "-": a
 * prefix of one id must never name another's folders.
 */
const removeDebris = async (dir: string): Promise<void> => {
  const id = path.basename(dir);
  if (id.includes('-')) throw new Error(`a fresh-staging folder name must not contain "-": ${id}`);
  const parent = path.dirname(dir);
  for (const entry of await readdir(parent)) {
    if (entry.startsWith(`.staging-${id}-`) || entry.startsWith(`.discarded-${id}-`)) {
      await rm(path.join(parent, entry), { recursive: true, force: true });
    }
  }
};

/**
 * Removes a published folder: renamed aside first (atomic), so no reader ever opens a
 * half-deleted one; a removal cut short leaves debris the next fresh publisher removes.
 *
 * @example
 * await discardFolder('/mnt/models/.optimized/m/1/3f2a'); // gone; a missing folder is not an error
 */
export const discardFolder = async (dir: string): Promise<void> => {
  const aside = path.join(path.dirname(dir), `.discarded-${path.basename(dir)}-${randomUUID()}`);
  await rename(dir, aside).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
  await rm(aside, { recursive: true, force: true });
};
