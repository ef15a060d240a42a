import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Progress of one object's download, in bytes. */
export type ProgressFn = (done: number, total: number) => void;

/**
 * Where bundles and aliases live: S3 in production (`#storage/s3-object-store.ts`), a
 * folder locally. The model store and the registry only speak to this interface, so
 * the runtime layer never imports the AWS SDK.
 */
export interface ObjectStore {
  /** For messages: `s3://bucket/prefix` or a folder path. */
  readonly description: string;
  /** The object's text, or undefined when it does not exist. */
  getText(key: string): Promise<string | undefined>;
  /**
   * Writes the object to `dest`. When `dest` already holds a prefix of the object (an
   * interrupted download), only the rest is fetched and appended.
   */
  download(key: string, dest: string, options?: { bytes?: number; onProgress?: ProgressFn }): Promise<void>;
  /** Names of the immediate "sub-folders" under a prefix. */
  listPrefixes(prefix: string): Promise<string[]>;
}

const exists = async (p: string): Promise<number | undefined> => {
  try {
    return (await stat(p)).size;
  } catch {
    return undefined;
  }
};

/** An object store on the local file system: the registry for development and tests. */
export class FsObjectStore implements ObjectStore {
  readonly description: string;
  constructor(readonly root: string) {
    this.description = root;
  }

  private file(key: string): string {
    const resolved = path.resolve(this.root, key);
    if (!resolved.startsWith(path.resolve(this.root))) throw new Error(`key escapes the store: ${key}`);
    return resolved;
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async download(key: string, dest: string, options: { bytes?: number; onProgress?: ProgressFn } = {}): Promise<void> {
    const src = this.file(key);
    const total = await exists(src);
    if (total === undefined) throw new Error(`${key} not found in ${this.description}`);
    const have = Math.min((await exists(dest)) ?? 0, total);
    await mkdir(path.dirname(dest), { recursive: true });
    let done = have;
    const input = createReadStream(src, { start: have });
    input.on('data', (chunk) => {
      done += chunk.length;
      options.onProgress?.(done, total);
    });
    await pipeline(input, createWriteStream(dest, { flags: have > 0 ? 'a' : 'w' }));
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    try {
      const entries = await readdir(this.file(prefix || '.'), { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}

/** How an S3 registry is named in messages: `s3://bucket/prefix` (the prefix without its slashes). */
export const s3Description = (bucket: string, prefix = ''): string => {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  return `s3://${bucket}${trimmed ? `/${trimmed}` : ''}`;
};

/**
 * An object store made on its first use: the inference functions' S3 registry, whose
 * client (the AWS SDK's S3 package, about a fifth of a function's bundle) is then loaded
 * only by a process that reads the registry from S3, not by every cold start. A failed
 * `make` is tried again on the next call.
 *
 * @example
 * const store = new DeferredObjectStore('s3://models', async () => new (await import('./s3.ts')).S3Store());
 * await store.getText('demo/aliases.json'); // the module is imported here, once
 */
export class DeferredObjectStore implements ObjectStore {
  #store: Promise<ObjectStore> | undefined;

  constructor(
    readonly description: string,
    private readonly make: () => Promise<ObjectStore>,
  ) {}

  private store(): Promise<ObjectStore> {
    this.#store ??= this.make().catch((error: unknown) => {
      this.#store = undefined;
      throw error;
    });
    return this.#store;
  }

  async getText(key: string): Promise<string | undefined> {
    return (await this.store()).getText(key);
  }

  async download(...args: Parameters<ObjectStore['download']>): Promise<void> {
    return (await this.store()).download(...args);
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    return (await this.store()).listPrefixes(prefix);
  }
}
