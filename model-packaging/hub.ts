import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CommandError } from './common.ts';

export interface HubOptions {
  endpoint: string;
  token?: string;
  /** Attempts per request (first try included) on 5xx and network errors. */
  attempts?: number;
  /** First backoff delay; doubled after each failed attempt. */
  retryBaseMs?: number;
  onRetry?: (what: string, attempt: number, reason: string) => void;
}

export interface HubRevision {
  sha: string;
  files: string[];
  /** sha256 of each file stored in LFS (the weights), when asked with `blobs`. */
  lfs: Record<string, string>;
  /** The Hub's `pipeline_tag` (the task its card declares), when it has one. */
  pipelineTag?: string;
}

/** A failure worth retrying (5xx, reset connection, response cut short). */
class TransientError extends Error {}

const isTransientStatus = (status: number): boolean => status >= 500 || status === 429 || status === 408;

/**
 * A minimal Hugging Face Hub client: resolves a revision and downloads files with
 * resume (`Range` from a `.part` file) and exponential backoff. Hand-written on global
 * `fetch` because `@huggingface/hub` is not a dependency and the two endpoints used
 * here are small and stable.
 *
 * @example
 * const hub = new HubClient({ endpoint: 'https://huggingface.co', token: process.env.HF_TOKEN });
 * const { sha } = await hub.revision('distilbert/distilbert-base-uncased-finetuned-sst-2-english', 'main');
 */
export class HubClient {
  readonly endpoint: string;
  constructor(private readonly options: HubOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.token ? { Authorization: `Bearer ${this.options.token}` } : {}), ...extra };
  }

  /** Runs `fn` with retries on transient failures; permanent ones (401, 404) fail at once. */
  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const attempts = this.options.attempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        const transient = error instanceof TransientError || error instanceof TypeError || isNetworkError(error);
        if (!transient) throw error;
        const reason = networkReason(error);
        if (attempt >= attempts) {
          throw new CommandError(`${what}: failed after ${attempts} attempts (${reason}) at ${this.endpoint}.`, {
            cause: error,
          });
        }
        this.options.onRetry?.(what, attempt, reason);
        await sleep((this.options.retryBaseMs ?? 500) * 2 ** (attempt - 1));
      }
    }
  }

  private failFor(what: string, status: number, repo: string): never {
    if (status === 401 || status === 403) {
      throw new CommandError(
        `${what}: the Hub answered ${status}: ${repo} is private or gated; set HF_TOKEN to a token with access to it.`,
      );
    }
    if (status === 404) {
      throw new CommandError(
        `${what}: not found (404) at ${this.endpoint}: check the repository id, revision and file.`,
      );
    }
    if (isTransientStatus(status)) throw new TransientError(`HTTP ${status}`);
    throw new CommandError(`${what}: the Hub answered HTTP ${status}.`);
  }

  /**
   * Resolves `revision` (branch, tag or sha) to its commit sha and lists the repository's
   * files; with `blobs`, also the sha256 of each LFS file (the Hub's `?blobs=true`).
   */
  async revision(repo: string, revision: string, options: { blobs?: boolean } = {}): Promise<HubRevision> {
    const url = `${this.endpoint}/api/models/${repo}/revision/${encodeURIComponent(revision)}${options.blobs ? '?blobs=true' : ''}`;
    const what = `resolve ${repo}@${revision}`;
    return this.retry(what, async () => {
      const res = await fetch(url, { headers: this.headers() });
      if (!res.ok) this.failFor(what, res.status, repo);
      const body = (await res.json()) as {
        sha?: unknown;
        pipeline_tag?: unknown;
        siblings?: { rfilename?: unknown; lfs?: { sha256?: unknown } }[];
      };
      if (typeof body.sha !== 'string' || !/^[a-f0-9]{40}$/.test(body.sha)) {
        throw new CommandError(`${what}: the Hub's answer has no commit sha; is ${this.endpoint} a Hub endpoint?`);
      }
      const siblings = (body.siblings ?? []).filter(
        (s): s is { rfilename: string; lfs?: { sha256?: unknown } } => typeof s.rfilename === 'string',
      );
      const lfs = Object.fromEntries(
        siblings.flatMap((s) => (typeof s.lfs?.sha256 === 'string' ? [[s.rfilename, s.lfs.sha256]] : [])),
      );
      const pipelineTag = typeof body.pipeline_tag === 'string' ? body.pipeline_tag : undefined;
      return { sha: body.sha, files: siblings.map((s) => s.rfilename), lfs, ...(pipelineTag ? { pipelineTag } : {}) };
    });
  }

  /**
   * Downloads `/{repo}/resolve/{sha}/{file}` to `dest` through `dest.part`. Bytes already
   * in the `.part` file (an earlier attempt or run cut off) are kept and only the rest is
   * requested with `Range`.
   */
  async download(
    repo: string,
    sha: string,
    file: string,
    dest: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<void> {
    const url = `${this.endpoint}/${repo}/resolve/${sha}/${file.split('/').map(encodeURIComponent).join('/')}`;
    const part = `${dest}.part`;
    await mkdir(path.dirname(dest), { recursive: true });
    await this.retry(`download ${repo}/${file}`, async () => {
      const have = await stat(part).then(
        (s) => s.size,
        () => 0,
      );
      const res = await fetch(url, { headers: this.headers(have > 0 ? { Range: `bytes=${have}-` } : {}) });
      if (res.status === 416) {
        // The part file is longer than the object (it changed?): start over.
        await rm(part, { force: true });
        throw new TransientError('HTTP 416, restarting from zero');
      }
      if (!res.ok) this.failFor(`download ${repo}/${file}`, res.status, repo);
      const resumed = res.status === 206 && have > 0;
      const length = Number(res.headers.get('content-length') ?? Number.NaN);
      const total = (resumed ? have : 0) + (Number.isFinite(length) ? length : 0);
      // Chunks are written with awaited file writes (not a stream pipeline) so that every
      // byte received before a cut is on disk for the next attempt's Range request.
      const handle = await open(part, resumed ? 'a' : 'w');
      let done = resumed ? have : 0;
      try {
        if (res.body) {
          for await (const chunk of res.body) {
            await handle.write(chunk);
            done += chunk.length;
            onProgress?.(done, total);
          }
        }
      } catch (cause) {
        throw new TransientError(`connection lost after ${done} bytes`, { cause });
      } finally {
        await handle.close();
      }
      if (Number.isFinite(length) && done < total)
        throw new TransientError(`response cut short at ${done}/${total} bytes`);
      onProgress?.(done, Math.max(total, done));
    });
    await rename(part, dest);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

const isNetworkError = (error: unknown): boolean => {
  const code = (error as { code?: string; cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
  return code !== undefined && NETWORK_CODES.has(code);
};

const networkReason = (error: unknown): string => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? (error as Error).message;
};
