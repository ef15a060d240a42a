import { AppError, oneOf, ValidationError } from './errors.ts';
import type { Task } from './manifest.ts';

/** A Hugging Face Hub model named by a request: `org/name`, optionally `@revision` (default `main`). */
export interface HubId {
  /** `org/name`, as the caller spelled it. */
  repo: string;
  revision: string;
  /** `org/name@revision`: the import job's key (one job per repository and revision). */
  key: string;
}

/** The Hub's repository name rules: letters, digits, `-`, `_`, `.`, not starting or ending with `-`/`.`, ≤ 96 characters. */
const PART = /^(?![-.])[A-Za-z0-9._-]{1,96}(?<![-.])$/;
/** A branch, tag or commit: Git ref characters, no `..`, ≤ 128 characters (e.g. `main`, `v1.0`, `refs/pr/1`, a sha). */
const REVISION = /^(?!.*\.\.)(?![/.-])[A-Za-z0-9._/-]{1,128}(?<![/.])$/;

/** True when a model reference names a Hub repository (`org/name…`) rather than a registry model. */
export const isHubRef = (ref: string): boolean => ref.includes('/');

/**
 * Splits and checks `org/name[@revision]`: a 400 naming `param` says what a valid id looks like.
 *
 * @example
 * parseHubId('Xenova/tiny-gpt2@v1'); // => { repo: 'Xenova/tiny-gpt2', revision: 'v1', key: 'Xenova/tiny-gpt2@v1' }
 */
export const parseHubId = (ref: string, param = 'model'): HubId => {
  const at = ref.indexOf('@');
  const repo = at === -1 ? ref : ref.slice(0, at);
  const revision = at === -1 ? 'main' : ref.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => PART.test(p)) || !REVISION.test(revision)) {
    throw new ValidationError(
      `Invalid Hugging Face model id ${JSON.stringify(ref.slice(0, 200))}: use "org/name" or "org/name@revision" (letters, digits, "-", "_", "."; at most 96 characters each; e.g. "Xenova/distilgpt2@main").`,
      { param },
    );
  }
  return { repo, revision, key: `${repo}@${revision}` };
};

/**
 * Whether `repo` matches one of the allowlist's patterns: `*` stands for any characters
 * within one path segment (`Xenova/*`, `*\/tiny-*`); matching ignores case, as the Hub does.
 *
 * @example
 * importAllowed('Xenova/tiny-gpt2', ['Xenova/*']); // => true
 */
export const importAllowed = (repo: string, patterns: readonly string[]): boolean =>
  patterns.some((pattern) => {
    const source = pattern
      .split('*')
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
    return new RegExp(`^${source}$`, 'i').test(repo);
  });

/** Imports not allowed on this stage: the message says which setting allows them. */
export class ImportNotAllowedError extends AppError {
  constructor(repo: string, patterns: readonly string[], stage: string) {
    super(
      403,
      'import_not_allowed',
      patterns.length === 0
        ? `Importing Hugging Face models is off on stage ${stage}: add a pattern matching ${JSON.stringify(repo)} (e.g. "${repo.split('/')[0]}/*") to the stage's hubImportAllow setting (HUB_IMPORT_ALLOW locally), or publish the model with "npm run models pull" and "models publish".`
        : `${JSON.stringify(repo)} matches none of stage ${stage}'s import patterns (${oneOf(patterns)}): add one to the stage's hubImportAllow setting (HUB_IMPORT_ALLOW locally) to allow it.`,
      { param: 'model' },
    );
  }
}

/**
 * The registry name an imported repository is published under: `org--name`, lowercased
 * (the Hub's own cache-folder convention), so it can never collide with a hand-named bundle
 * that has no `--`.
 *
 * @example
 * registryNameOf('Xenova/tiny-gpt2'); // => 'xenova--tiny-gpt2'
 */
export const registryNameOf = (repo: string): string => repo.replace('/', '--').toLowerCase();

/** The Hub's `pipeline_tag` values each task serves. */
const PIPELINE_TASKS: Record<string, Task> = {
  'text-generation': 'text-generation',
  'text-classification': 'text-classification',
  'sentiment-analysis': 'text-classification',
  translation: 'translation',
};

/** The task a Hub `pipeline_tag` maps to, if one is served. */
export const taskOfPipelineTag = (tag: string | undefined): Task | undefined =>
  tag === undefined ? undefined : PIPELINE_TASKS[tag];
