import { mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  COMPLETE_MARKER,
  discardFolder,
  isComplete,
  isPresent,
  type PublishOptions,
  type PublishSteps,
  publishOrWait,
  publishUnlessBusy,
  type WaitOptions,
} from '#runtime/atomic-publish.ts';
import { tempDir } from '../../../helpers/bundles.ts';

/** What a complete folder holds: two files, one in a subfolder. */
const FILES: Record<string, string> = { 'a.txt': 'alpha\n', 'sub/b.txt': 'beta\n' };
const RESUME: PublishOptions = { lockStaleMs: 60_000, staging: 'resume' };
const FRESH: PublishOptions = { lockStaleMs: 60_000, staging: 'fresh' };
const WAIT: WaitOptions = { pollMs: 5, timeoutMs: 30_000, activity: 'fetch m@1' };
/** An mtime far older than any lockStaleMs here: the lock of a dead process. */
const LONG_AGO = new Date(Date.now() - 3_600_000);

/** The files of a folder (and their contents), marker excluded; undefined when it is not complete. */
const contentsOf = async (dir: string): Promise<Record<string, string> | undefined> => {
  if (!(await isComplete(dir))) return undefined;
  const out: Record<string, string> = {};
  for (const rel of Object.keys(FILES)) {
    out[rel] = await readFile(path.join(dir, rel), 'utf8').catch(() => '(missing)');
  }
  return out;
};

const freshParent = async () => {
  const parent = await tempDir('publish');
  return { parent, dir: path.join(parent, '1') };
};

/** A deferred: a promise and the function that resolves it. */
const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
};

/**
 * Steps that publish FILES, recording what they saw: how often `stage` ran, the files each
 * stage found already in its staging folder, and the folders it staged into.
 */
const recordingSteps = (dir: string, overrides: Partial<PublishSteps<Record<string, string>>> = {}) => {
  const seen = { stages: 0, leftovers: [] as string[][], stagings: [] as string[] };
  const steps: PublishSteps<Record<string, string>> = {
    existing: () => contentsOf(dir),
    stage: async (staging) => {
      seen.stages += 1;
      seen.stagings.push(staging);
      seen.leftovers.push((await readdir(staging, { recursive: true })).sort());
      for (const [rel, text] of Object.entries(FILES)) {
        await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
        await writeFile(path.join(staging, rel), text);
      }
    },
    verify: async () => undefined,
    ...overrides,
  };
  return { steps, seen };
};

describe('publishOrWait: racing publishers', () => {
  it('publishes once; the others wait and see the complete folder, never a partial one', async () => {
    // Prepare: the first publisher stops mid-stage until every other one is waiting.
    const { parent, dir } = await freshParent();
    const staged = deferred();
    const release = deferred();
    const { steps, seen } = recordingSteps(dir);
    const slowSteps: typeof steps = {
      ...steps,
      stage: async (staging, heartbeat) => {
        await writeFile(path.join(staging, 'a.txt'), 'half');
        staged.resolve();
        await release.promise;
        await steps.stage(staging, heartbeat);
      },
    };

    // Act
    const racing = Array.from({ length: 6 }, () => publishOrWait(dir, slowSteps, RESUME, WAIT));
    await staged.promise;
    const midway = { dir: await isPresent(dir), lock: await isPresent(path.join(parent, '.1.lock')) };
    release.resolve();
    const outcomes = await Promise.all(racing);

    // Assess
    expect(midway).toEqual({ dir: false, lock: true });
    expect(seen.stages).toBe(1);
    expect(outcomes.filter((o) => o.status === 'published')).toHaveLength(1);
    const found = outcomes.filter((o) => o.status === 'found');
    expect(found).toHaveLength(5);
    for (const o of found) expect(o.found).toEqual(FILES);
    expect(await contentsOf(dir)).toEqual(FILES);
    expect(await readdir(parent)).toEqual(['1']);
  });

  it('answers a complete folder without taking the lock or staging', async () => {
    // Prepare: complete, and its lock held by a live process (a repair, say).
    const { parent, dir } = await freshParent();
    await publishOrWait(dir, recordingSteps(dir).steps, RESUME, WAIT);
    await writeFile(path.join(parent, '.1.lock'), '4242 alive');
    const { steps, seen } = recordingSteps(dir);

    // Act
    const outcome = await publishOrWait(dir, steps, RESUME, { ...WAIT, timeoutMs: 50 });

    // Assess
    expect(outcome).toEqual({ status: 'found', found: FILES });
    expect(seen.stages).toBe(0);
  });

  it('gives up waiting for a live holder after timeoutMs, naming the lock', async () => {
    // Prepare: a lock just taken by another process (fresh mtime), never released.
    const { parent, dir } = await freshParent();
    await writeFile(path.join(parent, '.1.lock'), '4242 alive');
    const { steps, seen } = recordingSteps(dir);

    // Act
    const waiting = publishOrWait(dir, steps, RESUME, { ...WAIT, timeoutMs: 50 });

    // Assess
    await expect(waiting).rejects.toThrow(
      /^Timed out waiting for another process to fetch m@1 \(lock .*\/\.1\.lock\)\.$/,
    );
    expect(seen.stages).toBe(0);
  });
});

describe('publishing after a crash', () => {
  it('takes over a stale lock and resumes the staging folder a dead publisher left (resume)', async () => {
    // Prepare: a publisher died mid-stage: its lock untouched for an hour, half a file staged.
    const { parent, dir } = await freshParent();
    await writeFile(path.join(parent, '.1.lock'), '999999 dead');
    await utimes(path.join(parent, '.1.lock'), LONG_AGO, LONG_AGO);
    await mkdir(path.join(parent, '.staging-1'));
    await writeFile(path.join(parent, '.staging-1', 'a.txt'), 'alp');
    const { steps, seen } = recordingSteps(dir);

    // Act
    const outcome = await publishOrWait(dir, steps, RESUME, WAIT);

    // Assess: the stage continued in the same folder, found the leftover, and finished it.
    expect(outcome.status).toBe('published');
    expect(seen.stagings).toEqual([path.join(parent, '.staging-1')]);
    expect(seen.leftovers).toEqual([['a.txt']]);
    expect(await contentsOf(dir)).toEqual(FILES);
    expect(await readdir(parent)).toEqual(['1']);
  });

  it('breaks a stale lock, then publishes in a new folder and removes the dead ones (fresh)', async () => {
    // Prepare: a dead builder's lock, its staging folder and a discard cut short.
    const { parent, dir } = await freshParent();
    await writeFile(path.join(parent, '.1.lock'), '999999 dead');
    await utimes(path.join(parent, '.1.lock'), LONG_AGO, LONG_AGO);
    await mkdir(path.join(parent, '.staging-1-dead'));
    await writeFile(path.join(parent, '.staging-1-dead', 'a.txt'), 'alp');
    await mkdir(path.join(parent, '.discarded-1-old'));
    const { steps, seen } = recordingSteps(dir);

    // Act: the first call breaks the stale lock and says busy; the next one takes it.
    const first = await publishUnlessBusy(dir, steps, FRESH);
    const second = await publishUnlessBusy(dir, steps, FRESH);

    // Assess
    expect(first).toEqual({ status: 'busy' });
    expect(second.status).toBe('published');
    expect(seen.leftovers).toEqual([[]]);
    expect(path.basename(seen.stagings[0]!)).toMatch(/^\.staging-1-[0-9a-f-]{36}$/);
    expect(await contentsOf(dir)).toEqual(FILES);
    expect(await readdir(parent)).toEqual(['1']);
  });

  it('releases the lock when a step throws; a resumable staging folder is kept, a fresh one removed', async () => {
    for (const options of [RESUME, FRESH]) {
      // Prepare
      const { parent, dir } = await freshParent();
      const failing = recordingSteps(dir, {
        stage: async (staging) => {
          await writeFile(path.join(staging, 'a.txt'), 'alp');
          throw new Error('connection reset');
        },
      });

      // Act
      const failed = publishOrWait(dir, failing.steps, options, WAIT);

      // Assess
      await expect(failed, options.staging).rejects.toThrow('connection reset');
      expect(await readdir(parent), options.staging).toEqual(options.staging === 'resume' ? ['.staging-1'] : []);
      const again = await publishOrWait(dir, recordingSteps(dir).steps, options, WAIT);
      expect(again.status, options.staging).toBe('published');
      expect(await readdir(parent), options.staging).toEqual(['1']);
    }
  });
});

describe('verification and the marker', () => {
  it('publishes nothing when verify fails: no folder, no marker, the lock released', async () => {
    for (const options of [RESUME, FRESH]) {
      // Prepare
      const { parent, dir } = await freshParent();
      const { steps } = recordingSteps(dir, {
        verify: async () => {
          throw new Error('sha256 mismatch for a.txt');
        },
      });

      // Act
      const outcome = publishOrWait(dir, steps, options, WAIT);

      // Assess
      await expect(outcome, options.staging).rejects.toThrow('sha256 mismatch for a.txt');
      expect(await isPresent(dir), options.staging).toBe(false);
      expect(await isPresent(path.join(parent, '.1.lock')), options.staging).toBe(false);
      const left = await readdir(parent, { recursive: true });
      expect(
        left.filter((p) => path.basename(p) === COMPLETE_MARKER),
        options.staging,
      ).toEqual([]);
    }
  });

  it('writes the marker after stage and verify, and renames only a folder that has it', async () => {
    // Prepare: record, at verify and at the last look before the rename, what the folders hold.
    const { parent, dir } = await freshParent();
    const trace: string[] = [];
    const { steps } = recordingSteps(dir);
    const traced: typeof steps = {
      ...steps,
      verify: async (staging) => {
        trace.push(`verify: marker ${await isPresent(path.join(staging, COMPLETE_MARKER))}`);
      },
      existing: async () => {
        const staging = path.join(parent, '.staging-1');
        if (await isPresent(path.join(staging, COMPLETE_MARKER))) {
          const files = (await readdir(staging, { recursive: true })).sort();
          trace.push(`before rename: ${files.join(' ')}; published ${await isPresent(dir)}`);
        }
        return steps.existing();
      },
    };

    // Act
    const outcome = await publishOrWait(dir, traced, RESUME, WAIT);

    // Assess
    expect(outcome.status).toBe('published');
    expect(trace).toEqual(['verify: marker false', 'before rename: .complete a.txt sub sub/b.txt; published false']);
    expect(await contentsOf(dir)).toEqual(FILES);
  });

  it('keeps a complete folder that another publisher put in place meanwhile', async () => {
    // Prepare: while this publisher stages, one that outlived a lock taken as stale publishes.
    const { parent, dir } = await freshParent();
    const theirs = { 'a.txt': 'theirs a\n', 'sub/b.txt': 'theirs b\n' };
    const { steps } = recordingSteps(dir);
    const overtaken: typeof steps = {
      ...steps,
      stage: async (staging, heartbeat) => {
        await steps.stage(staging, heartbeat);
        for (const [rel, text] of Object.entries(theirs)) {
          await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
          await writeFile(path.join(dir, rel), text);
        }
        await writeFile(path.join(dir, COMPLETE_MARKER), 'theirs\n');
      },
    };

    // Act
    const outcome = await publishUnlessBusy(dir, overtaken, FRESH);

    // Assess
    expect(outcome).toEqual({ status: 'found', found: theirs });
    expect(await contentsOf(dir)).toEqual(theirs);
    expect(await readdir(parent)).toEqual(['1']);
  });
});

describe('the lock', () => {
  it('says busy while another holds it, and leaves its lock alone', async () => {
    // Prepare
    const { parent, dir } = await freshParent();
    await writeFile(path.join(parent, '.1.lock'), '4242 alive');
    const { steps, seen } = recordingSteps(dir);

    // Act
    const outcome = await publishUnlessBusy(dir, steps, FRESH);

    // Assess
    expect(outcome).toEqual({ status: 'busy' });
    expect(seen.stages).toBe(0);
    expect(await readFile(path.join(parent, '.1.lock'), 'utf8')).toBe('4242 alive');
  });

  it("keeps a long stage's lock from being taken over through the heartbeat", async () => {
    // Prepare: mid-stage the lock looks an hour old, then the stage beats.
    const { parent, dir } = await freshParent();
    const lock = path.join(parent, '.1.lock');
    let rival: Awaited<ReturnType<typeof publishUnlessBusy>> | undefined;
    let beatMs = 0;
    let lockKept = false;
    const { steps } = recordingSteps(dir);
    const beating: typeof steps = {
      ...steps,
      stage: async (staging, heartbeat) => {
        await utimes(lock, LONG_AGO, LONG_AGO);
        await heartbeat();
        beatMs = (await stat(lock)).mtimeMs;
        rival = await publishUnlessBusy(dir, recordingSteps(dir).steps, FRESH);
        lockKept = (await stat(lock).catch(() => undefined))?.mtimeMs === beatMs;
        await steps.stage(staging, heartbeat);
      },
    };

    // Act
    const outcome = await publishUnlessBusy(dir, beating, FRESH);

    // Assess: the rival found a live lock, so it said busy without breaking it.
    expect(outcome.status).toBe('published');
    expect(beatMs).toBeGreaterThan(LONG_AGO.getTime());
    expect(rival).toEqual({ status: 'busy' });
    expect(lockKept).toBe(true);
    expect(await readdir(parent)).toEqual(['1']);
  });

  it('refuses fresh staging for a folder name with "-", whose debris prefix could name another folder', async () => {
    // Prepare
    const parent = await tempDir('publish');
    const dir = path.join(parent, '1-beta');

    // Act
    const outcome = publishUnlessBusy(dir, recordingSteps(dir).steps, FRESH);

    // Assess
    await expect(outcome).rejects.toThrow(/must not contain "-": 1-beta/);
    expect(await readdir(parent)).toEqual([]);
  });
});

describe('discardFolder', () => {
  it('removes a published folder, and a missing one is not an error', async () => {
    // Prepare
    const { parent, dir } = await freshParent();
    await publishOrWait(dir, recordingSteps(dir).steps, RESUME, WAIT);

    // Act
    await discardFolder(dir);
    await discardFolder(dir);

    // Assess
    expect(await readdir(parent)).toEqual([]);
  });
});
