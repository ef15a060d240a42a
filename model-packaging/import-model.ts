import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError, errorMessage } from '#runtime/errors.ts';
import { registryNameOf } from '#runtime/hub-id.ts';
import type { Task } from '#runtime/manifest.ts';
import type { ObjectStore } from '#runtime/object-store.ts';
import { Registry } from '#runtime/registry.ts';
import { pullBundle } from './commands/pull.ts';
import { publishBundle } from './commands/registry.ts';
import { validateBundle } from './commands/validate.ts';
import { CommandError, type Io } from './common.ts';

export interface HubImportOptions {
  /** The registry to publish into: S3 in AWS, MODELS_DIR's folder locally. */
  store: ObjectStore;
  endpoint: string;
  token?: string;
  /** A scratch folder (Lambda's /tmp): the bundle is built in a fresh folder under it, removed after. */
  workDir: string;
  retryBaseMs: number;
  io: Io;
}

export interface HubImportResult {
  name: string;
  version: string;
  commit: string;
  task: Task;
}

/**
 * One Hub model, from request to registry, as `models pull`, `validate` and `publish` do it
 * (the same functions): pulled pinned to its commit (each LFS file against the Hub's
 * sha256), validated (graphs load, the task runs), published whole under
 * `registryNameOf(repo)@<sha12>`. A failure at any step publishes nothing and leaves no
 * scratch files; its message names no scratch paths. A version already published from the
 * same commit (another revision naming it) is taken as is.
 *
 * @example
 * await importFromHub({ repo: 'Xenova/tiny-gpt2', revision: 'main', task: 'text-generation' }, options);
 * // => { name: 'xenova--tiny-gpt2', version: '5f1c…', commit: '5f1c…', task: 'text-generation' }
 */
export const importFromHub = async (
  request: { repo: string; revision: string; task?: Task },
  o: HubImportOptions,
): Promise<HubImportResult> => {
  const work = await mkdtemp(path.join(o.workDir, 'hub-import-'));
  try {
    const { dir, manifest, commit } = await pullBundle({
      repo: request.repo,
      revision: request.revision,
      task: request.task,
      dtype: 'fp32',
      out: work,
      name: registryNameOf(request.repo),
      endpoint: o.endpoint,
      token: o.token,
      retryBaseMs: o.retryBaseMs,
      io: o.io,
    });
    await validateBundle(dir, { io: o.io });
    const result = { name: manifest.name, version: manifest.version, commit, task: manifest.task };
    const published = await new Registry(o.store, { ttlMs: 0 }).manifest(manifest.name, manifest.version);
    if (published?.source.type === 'hub' && published.source.revision === commit) return result;
    o.io.out(await publishBundle(dir, o.store, o.io, { headBucket: false }));
    return result;
  } catch (error) {
    // The caller shows the reason to API clients: the scratch folder is nobody's business.
    const message = errorMessage(error).split(work).join('<bundle>');
    throw error instanceof AppError
      ? new CommandError(message, { cause: error })
      : new CommandError(`import: ${message}`, { cause: error });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
};
