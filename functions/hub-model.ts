import { json } from '#http/response.ts';
import type { ApiResult } from '#http/types.ts';
import { type ImportJob, importJobs } from '#predictions/import-jobs.ts';
import { config, listOf } from '#runtime/config.ts';
import { AppError } from '#runtime/errors.ts';
import { type HubId, ImportNotAllowedError, importAllowed, isHubRef, parseHubId } from '#runtime/hub-id.ts';
import type { Task } from '#runtime/manifest.ts';

/** The URL of one import's status (`GET /v1/imports/{org}/{name}`). */
export const statusUrlOf = (hub: Pick<HubId, 'repo' | 'revision'>): string =>
  `/v1/imports/${hub.repo.split('/').map(encodeURIComponent).join('/')}${hub.revision === 'main' ? '' : `?revision=${encodeURIComponent(hub.revision)}`}`;

/** An import job as routes answer it. */
export const importView = (job: ImportJob) => ({
  id: job.id,
  repo: job.repo,
  revision: job.revision,
  status: job.status,
  statusUrl: statusUrlOf(job),
  ...(job.task ? { task: job.task } : {}),
  ...(job.reason ? { reason: job.reason } : {}),
  ...(job.status === 'done' ? { model: `${job.name}@${job.version}`, commit: job.commit } : {}),
  ...(job.status === 'failed'
    ? { retryAt: new Date(job.updatedAtMs + config().HUB_IMPORT_RETRY_SECONDS * 1000).toISOString() }
    : {}),
  updatedAt: job.updatedAt,
});

/** The import of a model failed: the reason, and when a request will try again. */
export class ImportFailedError extends AppError {
  constructor(job: ImportJob, retrySeconds: number) {
    const wait = Math.max(1, Math.ceil((job.updatedAtMs + retrySeconds * 1000 - Date.now()) / 1000));
    super(
      422,
      'import_failed',
      `Importing ${job.id} from the Hugging Face Hub failed: ${job.reason ?? 'no reason recorded'} A request after ${new Date(job.updatedAtMs + retrySeconds * 1000).toISOString()} tries again (HUB_IMPORT_RETRY_SECONDS); a fixed repository can also be named by its new revision ("${job.repo}@<commit>").`,
      { param: 'model', headers: { 'Retry-After': String(wait) } },
    );
  }
}

/**
 * The registry model a request's `model` names. A registry reference (`name[@version]`) is
 * itself. A Hugging Face id (`org/name[@revision]`): 400 when malformed, 403 outside the
 * stage's allowlist (HUB_IMPORT_ALLOW); its imported model once the import is done; else
 * the job is queued (one per id and revision, whoever asks) and the caller gets `answer`,
 * a 202 with `Retry-After` and the status URL in `Location`. A failed import is a 422 with
 * its reason until HUB_IMPORT_RETRY_SECONDS have passed; the next request queues it again.
 *
 * @example
 * await hubModel('tiny-gpt2', 'text-generation'); // => { ref: 'tiny-gpt2' }
 * await hubModel('Xenova/tiny-gpt2', 'text-generation'); // => { answer: 202 … } then { ref: 'xenova--tiny-gpt2@<sha12>' }
 */
export const hubModel = async (
  ref: string,
  task: Task | undefined,
): Promise<{ ref: string } | { answer: ApiResult }> => {
  if (!isHubRef(ref)) return { ref };
  const c = config();
  const hub = parseHubId(ref);
  const patterns = listOf(c.HUB_IMPORT_ALLOW);
  if (!importAllowed(hub.repo, patterns)) throw new ImportNotAllowedError(hub.repo, patterns, c.STAGE);
  const jobs = importJobs(c);
  const existing = await jobs.get(hub.key);
  if (existing?.status === 'done') return { ref: `${existing.name}@${existing.version}` };
  const { job } = await jobs.request(hub, task);
  if (job.status === 'done') return { ref: `${job.name}@${job.version}` };
  if (job.status === 'failed') throw new ImportFailedError(job, c.HUB_IMPORT_RETRY_SECONDS);
  const view = importView(job);
  return {
    answer: json(view, 202, { 'Retry-After': String(c.HUB_IMPORT_RETRY_AFTER_SECONDS), Location: view.statusUrl }),
  };
};

/**
 * A route whose body's `model` may be a Hugging Face id: 202 while it is imported for `task`,
 * 403 outside the stage's allowlist, 422 when the import failed (`hubModel`); once imported,
 * `answer` runs with the imported model's registry name. Registry names, the default model
 * (no `model`) and ensembles (whose members are registry models) pass through unchanged.
 *
 * @example
 * viaHubModel(body, 'text-classification', async (served) => json(await classify(served.model)));
 */
export const viaHubModel = async <B extends { model?: string | undefined; ensemble?: unknown }>(
  body: B,
  task: Task,
  answer: (body: B) => Promise<ApiResult>,
): Promise<ApiResult> => {
  if (body.ensemble || !body.model) return answer(body);
  const target = await hubModel(body.model, task);
  return 'answer' in target ? target.answer : answer({ ...body, model: target.ref });
};
