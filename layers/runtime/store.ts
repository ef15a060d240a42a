import { access, mkdir, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChecksumMismatchError, UnknownModelError } from './errors.ts';
import { tryLock } from './lock-file.ts';
import { changedFiles, MANIFEST_FILE, type Manifest, readManifest, sha256File } from './manifest.ts';
import type { ProgressFn } from './object-store.ts';
import type { OptimizedCopy } from './optimized-graphs.ts';
import type { Registry } from './registry.ts';

/** A bundle that is complete and verified in the local cache. */
export interface LocalBundle {
  name: string;
  version: string;
  dir: string;
  manifest: Manifest;
  /**
   * True when this call fetched the bundle and checked every file; false when it was found
   * complete in the cache, where a file may have changed since (`verify` checks it).
   */
  fetched: boolean;
  /**
   * Set when the loader should open this environment's pre-optimised graphs instead of the
   * bundle's own (`optimized-graphs.ts`): a bundle folder beside the cache's bundles.
   */
  optimized?: OptimizedCopy;
}

export const COMPLETE_MARKER = '.complete';

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

/** True when the path exists (any kind of entry). */
export const isPresent = async (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

const sizeOf = async (p: string): Promise<number | undefined> =>
  stat(p).then(
    (s) => s.size,
    () => undefined,
  );

/**
 * The model store: resolves a version to a verified local folder, fetching it from the
 * registry's object store (S3) into the cache (EFS) when it is missing.
 *
 * Guarantees (DESIGN.md, Contracts):
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
    return isPresent(path.join(this.bundleDir(name, version), COMPLETE_MARKER));
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
    const lockFile = path.join(this.options.cacheDir, name, `.${version}.lock`);
    await mkdir(path.dirname(lockFile), { recursive: true });
    const deadline = Date.now() + (this.options.waitTimeoutMs ?? 10 * 60_000);
    for (;;) {
      // A repair does not take the copy it was called about; it waits for the lock.
      const ready = repair ? undefined : await this.cached(name, version);
      if (ready) return ready;
      if (await tryLock(lockFile, this.options.lockStaleMs ?? 60_000)) {
        try {
          const done = repair ? undefined : await this.cached(name, version);
          if (done) return done;
          await this.populate(manifest, dir, lockFile, repair);
          return { name, version, dir, manifest, fetched: true };
        } finally {
          await unlink(lockFile).catch(() => undefined);
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for another process to fetch ${name}@${version} (lock ${lockFile}).`);
      }
      await sleep(this.options.pollMs ?? 200);
    }
  }

  private async populate(manifest: Manifest, dir: string, lockFile: string, fromCached: boolean): Promise<void> {
    const { name, version } = manifest;
    // A stable staging folder (not random) so that a download cut off by a timeout
    // resumes where it stopped on the next attempt; the lock makes it ours alone.
    const staging = path.join(this.options.cacheDir, name, `.staging-${version}`);
    if (fromCached) {
      // Repair: the cached copy becomes the staging folder, so its intact files are kept
      // (fetchVerified hashes each and downloads only those that fail).
      await rm(staging, { recursive: true, force: true });
      await rename(dir, staging).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    }
    await mkdir(staging, { recursive: true });
    for (const file of manifest.files) {
      const dest = path.join(staging, file.path);
      await this.fetchVerified(`${name}/${version}/${file.path}`, dest, file.sha256, file.bytes, lockFile);
    }
    await writeFile(path.join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await writeFile(path.join(staging, COMPLETE_MARKER), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(staging, dir);
  }

  private async fetchVerified(
    key: string,
    dest: string,
    sha256: string,
    bytes: number,
    lockFile: string,
  ): Promise<void> {
    const have = await sizeOf(dest);
    if (have !== undefined && have > bytes) await rm(dest, { force: true });
    // Up to two attempts: a resumed file that fails its checksum may have a bad prefix
    // from an earlier attempt, so it is fetched again from zero once.
    for (let attempt = 1; ; attempt++) {
      if ((await sizeOf(dest)) !== bytes) {
        const onProgress: ProgressFn = (done, total) => {
          this.options.onProgress?.(key, done, total);
          const now = new Date();
          void utimes(lockFile, now, now).catch(() => undefined); // heartbeat: the lock is alive
        };
        await this.options.registry.store.download(key, dest, { bytes, onProgress });
        this.fetchedFiles += 1;
      }
      const actual = await sha256File(dest);
      if (actual === sha256) return;
      await rm(dest, { force: true });
      if (attempt >= 2) {
        throw new ChecksumMismatchError(
          `Checksum mismatch for ${this.options.registry.store.description}/${key}: expected sha256 ${sha256}, got ${actual}. The file was deleted and will not be served; republish the bundle.`,
        );
      }
    }
  }
}
