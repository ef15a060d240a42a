import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage, ModelUnavailableError } from './errors.ts';
import type { ObjectStore } from './object-store.ts';

/** The saved copy's text, or undefined when there is none (or it cannot be read). */
const readSaved = (where: string): Promise<string | undefined> => readFile(where, 'utf8').catch(() => undefined);

/** What one read answered: a text (or `null`: the object does not exist), or a listing. */
type Saved = { text: string | null } | { prefixes: string[] };

/** A saved copy's answer; undefined when there is no copy or it is not one. */
const parseSaved = (text: string | undefined): Saved | undefined => {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Saved;
  } catch {
    return undefined;
  }
};

/** An answer that found something: only those are trusted without asking (a missing object may appear). */
const found = (saved: Saved): boolean => ('text' in saved ? saved.text !== null : saved.prefixes.length > 0);

export interface LastKnownGoodOptions {
  /** Told when the registry failed and the saved copy answered instead. */
  onStale?: (info: { key: string; error: unknown }) => void;
  /**
   * A saved answer that found something, written or confirmed by any process less than this
   * long ago (its mtime), answers without a registry read: a cold start then needs no S3
   * request (nor the S3 client) while another container read the same file recently. An
   * answer the registry repeats is confirmed (the file's mtime set to now), not rewritten.
   * Unset: every read goes to the registry first.
   */
  freshMs?: number;
  /** Keys whose found answer never changes (a version's manifest): their saved copy is always fresh. */
  immutable?: (key: string) => boolean;
  now?: () => number;
}

/**
 * The registry's metadata as last read (listings, `aliases.json`, manifests), kept in a
 * folder beside the model cache (EFS in Lambda) so that a container started while S3 is
 * unreachable still resolves `name`, `name@version` and `name@alias` to the bundles the
 * cache holds. A read goes to the object store and its answer is saved ("not found" is
 * an answer too); when the store fails the saved copy answers, so the registry wins again
 * as soon as it answers. With `freshMs`, a saved answer that found something and that a
 * process wrote or confirmed that recently answers without asking the store (and
 * `immutable` keys' found answers always do). Bundle downloads pass through: the model
 * store caches those itself.
 *
 * Without a saved copy a failed read is a 503 (`ModelUnavailableError`, with Retry-After):
 * the registry is down, not the caller's request wrong.
 *
 * @example
 * const registry = new Registry(new LastKnownGoodStore(s3, '/mnt/models/.registry'));
 * await registry.resolve('tiny-distilbert-sentiment@prod'); // S3 down: from the saved aliases.json
 */
export class LastKnownGoodStore implements ObjectStore {
  readonly description: string;
  /** What this process last saved per file: an unchanged answer is not written again. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly inner: ObjectStore,
    readonly dir: string,
    private readonly options: LastKnownGoodOptions = {},
  ) {
    this.description = inner.description;
  }

  getText(key: string): Promise<string | undefined> {
    return this.read(
      key,
      path.join('objects', key),
      async () => ({ text: (await this.inner.getText(key)) ?? null }),
      (saved) => ('text' in saved ? (saved.text ?? undefined) : undefined),
    );
  }

  listPrefixes(prefix: string): Promise<string[]> {
    // `_` cannot start a model name or version (NAME_PATTERN, VERSION_PATTERN): no folder has this name.
    return this.read(
      `${prefix}*`,
      path.join('listings', prefix, '_prefixes.json'),
      async () => ({ prefixes: await this.inner.listPrefixes(prefix) }),
      (saved) => ('prefixes' in saved ? saved.prefixes : []),
    );
  }

  download(...args: Parameters<ObjectStore['download']>): Promise<void> {
    return this.inner.download(...args);
  }

  private async read<T>(
    key: string,
    file: string,
    fetch: () => Promise<Saved>,
    value: (saved: Saved) => T,
  ): Promise<T> {
    const where = this.file(file);
    const recent = await this.recentCopy(key, where);
    const fresh = parseSaved(recent);
    if (recent !== undefined && fresh && found(fresh)) {
      this.written.set(where, recent);
      return value(fresh);
    }
    // A process's first read of a file also reads the saved copy (unless read just now),
    // beside the registry's answer: a cold start mostly gets the answer saved before, and
    // rewriting it (a write and a rename on EFS) would only cost time. Later reads compare
    // with what it saved.
    const before = this.written.has(where) ? undefined : Promise.resolve(recent ?? readSaved(where));
    let answer: Saved;
    try {
      answer = await fetch();
    } catch (error) {
      const saved = parseSaved(await (before ?? readSaved(where)));
      if (!saved) {
        throw new ModelUnavailableError(
          `The model registry ${this.description} cannot be read (${errorMessage(error)}) and no earlier copy of ${key} is saved in ${this.dir}; retry shortly.`,
          { cause: error },
        );
      }
      this.options.onStale?.({ key, error });
      return value(saved);
    }
    const text = JSON.stringify(answer);
    // Best effort: a full or read-only cache folder must not fail a read the registry answered.
    if (this.written.get(where) === text || (await before) === text) {
      this.written.set(where, text);
      await this.confirm(where);
    } else await this.save(where, text).catch(() => undefined);
    return value(answer);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /**
   * The saved copy's text when it may stand for the registry's answer by its age (written or
   * confirmed less than `freshMs` ago) or its key (`immutable`); not read otherwise. The
   * caller still checks that it found something.
   */
  private async recentCopy(key: string, where: string): Promise<string | undefined> {
    const { freshMs, immutable } = this.options;
    if (freshMs === undefined && !immutable) return undefined;
    const changed = await stat(where).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    if (changed === undefined) return undefined;
    const age = this.now() - changed;
    const recent = freshMs !== undefined && age >= 0 && age < freshMs;
    return recent || immutable?.(key) ? readSaved(where) : undefined;
  }

  /** The registry repeated the saved answer: it is fresh again for every process (mtime now). */
  private async confirm(where: string): Promise<void> {
    if (this.options.freshMs === undefined) return;
    const now = new Date(this.now());
    await utimes(where, now, now).catch(() => undefined);
  }

  /** Atomic (write then rename): containers sharing the folder never read half a file. */
  private async save(where: string, text: string): Promise<void> {
    await mkdir(path.dirname(where), { recursive: true });
    const temp = `${where}.${randomUUID()}.tmp`;
    await writeFile(temp, text);
    await rename(temp, where);
    this.written.set(where, text);
  }

  private file(rel: string): string {
    const resolved = path.resolve(this.dir, rel);
    if (!resolved.startsWith(`${path.resolve(this.dir)}${path.sep}`)) throw new Error(`key escapes the folder: ${rel}`);
    return resolved;
  }
}
