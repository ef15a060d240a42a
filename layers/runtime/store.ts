import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { COMPLETE_MARKER, type Heartbeat, isComplete, publishOrWait } from './atomic-publish.ts';
import { ChecksumMismatchError, UnknownModelError } from './errors.ts';
import type { LocalBundle } from './local-bundle.ts';
import { MANIFEST_FILE, type Manifest, readManifest, sha256File } from './manifest.ts';
import type { ProgressFn } from './object-store.ts';
import type { Registry } from './registry.ts';
import { changedFiles, recordVerified } from './verified.ts';

export type { LocalBundle };
// Where tests and tools have always found them.
export { COMPLETE_MARKER };

export interface ModelStoreOptions {
  registry: Registry;
  /** The cache root: the EFS mount (`/mnt/models`) in Lambda, `.data/models` locally. */
  cacheDir: string;
  /** A lock untouched for this long is taken to belong to a dead process. */
  lockStaleMs?: number;
  /** How often waiters look for the holder's result. */
  pollMs?: number;
  /** How long a waiter waits for another process's download before giving up. */
  waitTimeoutMs?: number;
  /** Download progress, per file. */
  onProgress?: (file: string, done: number, total: number) => void;
}

const sizeOf = async (p: string): Promise<number | undefined> =>
  stat(p).then(
    (s) => s.size,
    () => undefined,
  );

/**
 * The model store: resolves a version to a verified local folder, fetching it from the
 * registry's object store (S3) into the cache (EFS) when it is missing.
 *
 * Guarantees (DESIGN.md, Contracts), through the atomic-publish protocol (`atomic-publish.ts`):
 * - a bundle is visible only when complete: files go to a staging folder, every sha256
 *   is checked, `.complete` is written, then the folder is renamed into place (atomic);
 * - a checksum mismatch is never served: the file is deleted and the load fails;
 * - concurrent loads fetch once: within a process through a shared promise, across
 *   processes (Lambda containers sharing EFS) through an exclusive lock file; the
 *   others wait for `.complete`;
 * - an interrupted download resumes: the staging folder survives, and each file is
 *   continued from the bytes already there (then verified as a whole);
 * - a cached bundle whose files changed after `.complete` (a bad disk, a stray write) is
 *   found by `verify` and fetched again by `repair`, under the same lock.
 */
export class ModelStore {
  private readonly inflight = new Map<string, Promise<LocalBundle>>();
  /** Files fetched from the object store by this process (status and tests). */
  fetchedFiles = 0;

  constructor(private readonly options: ModelStoreOptions) {}

  get cacheDir(): string {
    return this.options.cacheDir;
  }

  bundleDir(name: string, version: string): string {
    return path.join(this.options.cacheDir, name, version);
  }

  /**
   * The verified local folder of `name@version`, fetched first if needed.
   *
   * @example
   * const { dir } = await store.ensure('tiny-distilbert-sentiment', '1'); // => { dir: '/mnt/models/tiny-distilbert-sentiment/1', ... }
   */
  ensure(name: string, version: string): Promise<LocalBundle> {
    return this.once(`${name}@${version}`, () => this.ensureOnce(name, version, false));
  }

  /**
   * Fetches again the files of a cached bundle that `verify` found changed: the bundle goes
   * back to staging (invisible to other processes), every file is checked again, and only
   * those that fail are downloaded before it is renamed into place.
   *
   * @example
   * if ((await store.verify(bundle)).length > 0) bundle = await store.repair(bundle.name, bundle.version);
   */
  repair(name: string, version: string): Promise<LocalBundle> {
    return this.once(`${name}@${version}#repair`, () => this.ensureOnce(name, version, true));
  }

  /**
   * The files of a bundle that no longer match its manifest (missing, another size or
   * another sha256). It reads every byte (`ModelRuntime` says when it runs and what it costs)
   * but those of `skip` (graphs the load replaces with their optimised copies).
   *
   * @example
   * await store.verify(bundle); // => [] when intact, ['onnx/model.onnx'] when that file changed
   */
  verify(bundle: LocalBundle, skip: ReadonlySet<string> = new Set()): Promise<string[]> {
    return changedFiles(
      bundle.dir,
      bundle.manifest.files.filter((f) => !skip.has(f.path)),
    );
  }

  /** True when the bundle is complete in the cache (no fetch). */
  async isCached(name: string, version: string): Promise<boolean> {
    return isComplete(this.bundleDir(name, version));
  }

  /** One call at a time per key within this process; the others share its result. */
  private once(key: string, run: () => Promise<LocalBundle>): Promise<LocalBundle> {
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = run().finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    return pending;
  }

  /** The complete bundle in the cache, or undefined (also when its manifest is unreadable: fetched again). */
  private async cached(name: string, version: string): Promise<LocalBundle | undefined> {
    if (!(await this.isCached(name, version))) return undefined;
    const dir = this.bundleDir(name, version);
    const manifest = await readManifest(dir).catch(() => undefined);
    return manifest && { name, version, dir, manifest, fetched: false };
  }

  private async ensureOnce(name: string, version: string, repair: boolean): Promise<LocalBundle> {
    const dir = this.bundleDir(name, version);
    const found = repair ? undefined : await this.cached(name, version);
    if (found) return found;

    const manifest = await this.options.registry.manifest(name, version);
    if (!manifest) {
      throw new UnknownModelError(
        `Model ${name}@${version} is not in the registry (${this.options.registry.store.description}).`,
      );
    }
    const outcome = await publishOrWait(
      dir,
      {
        // A repair does not take the copy it was called about; it waits for the lock.
        existing: () => (repair ? Promise.resolve(undefined) : this.cached(name, version)),
        stage: (staging, heartbeat) => this.download(manifest, dir, staging, repair, heartbeat),
        verify: (staging, heartbeat) => this.verifyStaged(manifest, staging, heartbeat),
      },
      // A stable staging folder (not random) so that a download cut off by a timeout
      // resumes where it stopped on the next attempt; the lock makes it ours alone.
      { lockStaleMs: this.options.lockStaleMs ?? 60_000, staging: 'resume' },
      {
        pollMs: this.options.pollMs ?? 200,
        timeoutMs: this.options.waitTimeoutMs ?? 10 * 60_000,
        activity: `fetch ${name}@${version}`,
      },
    );
    return outcome.status === 'found' ? outcome.found : { name, version, dir, manifest, fetched: true };
  }

  /**
   * Stages every file of the bundle, each continued from the bytes already there (a cut-off
   * download resumes), then its manifest. A repair first makes the cached copy the staging
   * folder, so that its intact files are kept.
   */
  private async download(
    manifest: Manifest,
    dir: string,
    staging: string,
    fromCached: boolean,
    heartbeat: Heartbeat,
  ): Promise<void> {
    if (fromCached) {
      await rm(staging, { recursive: true, force: true });
      await rename(dir, staging).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      await mkdir(staging, { recursive: true });
    }
    for (const file of manifest.files) {
      const dest = path.join(staging, file.path);
      const have = await sizeOf(dest);
      if (have !== undefined && have > file.bytes) await rm(dest, { force: true });
      if ((await sizeOf(dest)) !== file.bytes) await this.fetchFile(manifest, file.path, dest, file.bytes, heartbeat);
    }
    await writeFile(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  /**
   * Checks every staged file against its sha256. A file that fails is fetched once more
   * from zero (a resumed file may have a bad prefix from an earlier attempt); when it fails
   * again it is deleted and the fetch fails: a checksum mismatch is never published. The
   * lock is touched after each file, so hashing a large bundle never looks like a dead holder.
   */
  private async verifyStaged(manifest: Manifest, staging: string, heartbeat: Heartbeat): Promise<void> {
    for (const file of manifest.files) {
      const dest = path.join(staging, file.path);
      const intact = (await sha256File(dest)) === file.sha256;
      await heartbeat();
      if (intact) continue;
      await rm(dest, { force: true });
      await this.fetchFile(manifest, file.path, dest, file.bytes, heartbeat);
      const actual = await sha256File(dest);
      if (actual === file.sha256) continue;
      await rm(dest, { force: true });
      throw new ChecksumMismatchError(
        `Checksum mismatch for ${this.options.registry.store.description}/${this.keyOf(manifest, file.path)}: expected sha256 ${file.sha256}, got ${actual}. The file was deleted and will not be served; republish the bundle.`,
      );
    }
    // Verified at publish: a cold load in another environment stats these files instead of hashing them.
    await recordVerified(staging, manifest.files);
  }

  /** The object store's key of a bundle file. */
  private keyOf(manifest: Manifest, file: string): string {
    return `${manifest.name}/${manifest.version}/${file}`;
  }

  /** Downloads one file into place (continuing a partial one), keeping the lock alive as bytes arrive. */
  private async fetchFile(
    manifest: Manifest,
    file: string,
    dest: string,
    bytes: number,
    heartbeat: Heartbeat,
  ): Promise<void> {
    const key = this.keyOf(manifest, file);
    const onProgress: ProgressFn = (done, total) => {
      this.options.onProgress?.(key, done, total);
      void heartbeat();
    };
    await this.options.registry.store.download(key, dest, { bytes, onProgress });
    this.fetchedFiles += 1;
  }
}
