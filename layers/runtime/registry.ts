import * as z from 'zod';
import { InvalidModelRefError, oneOf, UnknownModelError } from './errors.ts';
import { MANIFEST_FILE, type Manifest, NAME_PATTERN, parseManifest, type Task, VERSION_PATTERN } from './manifest.ts';
import type { ObjectStore } from './object-store.ts';

/**
 * Aliases of one model, kept beside its versions as `<name>/aliases.json`:
 * `{ "prod": { "version": "1" }, "canary": { "version": "1", "canary": { "version": "2", "weight": 0.3 } } }`.
 * With a `canary`, that share of the traffic to the alias is served by the canary version.
 */
export const AliasesSchema = z.record(
  z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  z.object({
    version: z.string().regex(VERSION_PATTERN),
    canary: z.object({ version: z.string().regex(VERSION_PATTERN), weight: z.number().min(0).max(1) }).optional(),
  }),
);
export type Aliases = z.infer<typeof AliasesSchema>;
export const ALIASES_FILE = 'aliases.json';

/** A model reference resolved to one immutable version. */
export interface ResolvedRef {
  name: string;
  version: string;
  /** The alias the caller named (or `prod` when they named the model alone). */
  alias?: string;
  /** True when the alias's canary weight sent this request to the canary version. */
  canary: boolean;
}

export interface ModelSummary {
  name: string;
  task: Task;
  versions: string[];
  aliases: Aliases;
  /** The version a bare name resolves to (ignoring canary splits). */
  defaultVersion: string;
}

/** Sorts versions so that "10" comes after "9" and "1.10" after "1.9". */
export const compareVersions = (a: string, b: string): number =>
  a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' });

/**
 * Splits `name`, `name@version` or `name@alias`.
 *
 * @example
 * parseModelRef('sentiment@prod'); // => { name: 'sentiment', selector: 'prod' }
 */
export const parseModelRef = (ref: string): { name: string; selector?: string } => {
  const at = ref.indexOf('@');
  const name = at === -1 ? ref : ref.slice(0, at);
  const selector = at === -1 ? undefined : ref.slice(at + 1);
  if (!NAME_PATTERN.test(name) || (selector !== undefined && !VERSION_PATTERN.test(selector))) {
    throw new InvalidModelRefError(
      `Invalid model reference ${JSON.stringify(ref)}: use "name", "name@version" or "name@alias" (lowercase name, e.g. "tiny-distilbert-sentiment@prod").`,
    );
  }
  return { name, selector };
};

/** An alias of the aliases file, by its own keys only: `@constructor` is an unknown alias, not Object's constructor. */
const aliasIn = (aliases: Aliases, name: string): Aliases[string] | undefined =>
  Object.hasOwn(aliases, name) ? aliases[name] : undefined;

/** For reads started ahead of need: whoever needs the value later sees the error then. */
const ignore = (): void => undefined;

interface Cached<T> {
  value: T;
  at: number;
}

/**
 * The one reader of the model registry (manifests and aliases), used by the functions
 * and by the model-packaging CLI alike. Manifests are immutable and cached for good;
 * aliases and the model list are re-read after `ttlMs` so an alias switch reaches warm
 * functions without a redeploy.
 */
export class Registry {
  private readonly manifests = new Map<string, Promise<Manifest | undefined>>();
  private readonly aliasCache = new Map<string, Cached<Aliases>>();
  private readonly versionCache = new Map<string, Cached<string[]>>();
  private namesCache?: Cached<string[]>;

  constructor(
    readonly store: ObjectStore,
    private readonly options: { ttlMs?: number; now?: () => number } = {},
  ) {}

  private fresh<T>(entry: Cached<T> | undefined): entry is Cached<T> {
    const now = (this.options.now ?? Date.now)();
    return entry !== undefined && now - entry.at < (this.options.ttlMs ?? 30_000);
  }

  private stamp<T>(value: T): Cached<T> {
    return { value, at: (this.options.now ?? Date.now)() };
  }

  /** Forgets cached aliases and listings (the CLI calls it after writing). */
  invalidate(): void {
    this.aliasCache.clear();
    this.versionCache.clear();
    this.namesCache = undefined;
  }

  async names(): Promise<string[]> {
    if (!this.fresh(this.namesCache)) {
      const names = (await this.store.listPrefixes('')).filter((n) => NAME_PATTERN.test(n));
      this.namesCache = this.stamp(names);
    }
    return this.namesCache.value;
  }

  async versions(name: string): Promise<string[]> {
    const cached = this.versionCache.get(name);
    if (this.fresh(cached)) return cached.value;
    const versions = (await this.store.listPrefixes(`${name}/`))
      .filter((v) => VERSION_PATTERN.test(v))
      .sort(compareVersions);
    this.versionCache.set(name, this.stamp(versions));
    return versions;
  }

  async aliases(name: string): Promise<Aliases> {
    const cached = this.aliasCache.get(name);
    if (this.fresh(cached)) return cached.value;
    const text = await this.store.getText(`${name}/${ALIASES_FILE}`);
    let aliases: Aliases = {};
    if (text !== undefined) {
      const parsed = AliasesSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(`${this.store.description}/${name}/${ALIASES_FILE}: invalid aliases file`);
      aliases = parsed.data;
    }
    this.aliasCache.set(name, this.stamp(aliases));
    return aliases;
  }

  /** The manifest of one version, or undefined when that version does not exist. */
  manifest(name: string, version: string): Promise<Manifest | undefined> {
    const key = `${name}/${version}/${MANIFEST_FILE}`;
    let pending = this.manifests.get(key);
    if (!pending) {
      pending = this.store.getText(key).then((text) => {
        if (text === undefined) return undefined;
        const manifest = parseManifest(text, `${this.store.description}/${key}`);
        if (manifest.name !== name || manifest.version !== version) {
          throw new Error(`${this.store.description}/${key}: manifest names ${manifest.name}@${manifest.version}`);
        }
        return manifest;
      });
      // Only a found manifest is immutable: forgetting "not found" lets a version
      // published after the first lookup (then aliased) be seen without a cold start.
      pending.then(
        (manifest) => manifest ?? this.manifests.delete(key),
        () => this.manifests.delete(key),
      );
      this.manifests.set(key, pending);
    }
    return pending;
  }

  /**
   * Starts reading the manifests an alias points at (its version and its canary's), into
   * the cache that `manifest` answers from. Only versions named by the aliases file: a
   * selector the caller typed is read after the listing says it is a version, so requests
   * for made-up versions never reach the registry (nor its saved copy).
   */
  private prefetchManifests(name: string, aliasName: string, aliases: Aliases): void {
    const alias = aliasIn(aliases, aliasName);
    for (const version of [alias?.version, alias?.canary?.version]) {
      if (version !== undefined) this.manifest(name, version).catch(ignore);
    }
  }

  /** Every model with its task, versions and aliases; optionally only those of one task. */
  async list(task?: Task): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    for (const name of await this.names()) {
      const versions = await this.versions(name);
      if (versions.length === 0) continue;
      const aliases = await this.aliases(name);
      const defaultVersion = aliases.prod?.version ?? versions[versions.length - 1]!;
      const manifest = await this.manifest(name, defaultVersion);
      if (!manifest || (task && manifest.task !== task)) continue;
      out.push({ name, task: manifest.task, versions, aliases, defaultVersion });
    }
    return out;
  }

  /**
   * Resolves a reference to one version. A bare name means its `prod` alias, or its
   * newest version when it has no `prod`. `random` decides canary splits (injectable
   * so tests can pin it); `task` narrows the list of names an unknown-model error offers.
   *
   * @example
   * await registry.resolve('tiny-distilbert-sentiment@2'); // => { name: 'tiny-distilbert-sentiment', version: '2', canary: false }
   */
  async resolve(ref: string, random: () => number = Math.random, task?: Task): Promise<ResolvedRef> {
    const { name, selector } = parseModelRef(ref);
    // A cold start's round trips to the registry (S3): the listing and the aliases at once,
    // and the manifest of the version the aliases name as soon as they are read (the
    // caller's next read), not after the listing. Aliases still fresh were read before,
    // their manifests with them: nothing to start (an alias naming no manifest is not
    // read again on every request).
    const reading = !this.fresh(this.aliasCache.get(name));
    const pendingAliases = this.aliases(name);
    void pendingAliases.then((aliases) => {
      if (reading) this.prefetchManifests(name, selector ?? 'prod', aliases);
    }, ignore);
    const versions = await this.versions(name);
    if (versions.length === 0) {
      const available = task ? (await this.list(task)).map((m) => m.name) : await this.names();
      throw new UnknownModelError(
        `Unknown model ${JSON.stringify(name)}. Available${task ? ` ${task}` : ''} models: ${oneOf(available)}.`,
      );
    }
    const aliases = await pendingAliases;
    if (selector !== undefined && versions.includes(selector)) return { name, version: selector, canary: false };
    const aliasName = selector ?? 'prod';
    const alias = aliasIn(aliases, aliasName);
    if (!alias) {
      if (selector === undefined) return { name, version: versions[versions.length - 1]!, canary: false };
      throw new UnknownModelError(
        `Model ${JSON.stringify(name)} has no version or alias ${JSON.stringify(selector)}. Versions: ${oneOf(versions)}; aliases: ${oneOf(Object.keys(aliases))}.`,
      );
    }
    const useCanary = alias.canary !== undefined && random() < alias.canary.weight;
    return {
      name,
      version: useCanary ? alias.canary!.version : alias.version,
      alias: aliasName,
      canary: useCanary,
    };
  }
}
