import { type HubImportOptions, importFromHub } from '#packaging/import-model.ts';
import type { ImportJobStore } from '#predictions/import-jobs.ts';
import { errorMessage } from '#runtime/errors.ts';

export type JobOutcome = 'done' | 'failed' | 'skipped';

/** What a failed job tells requests: the first line of the failure, bounded. */
const reasonOf = (error: unknown): string => (errorMessage(error).split('\n')[0] ?? 'import failed').slice(0, 1000);

/**
 * Runs one queued import job: claims it (a job already claimed or ended is skipped, so a
 * redelivered stream record imports nothing twice), imports it with the packaging CLI's
 * pull, validate and publish, and ends it `done` with the registry model or `failed` with
 * the reason. Only a failure to write the job itself throws (the stream then retries).
 *
 * @example
 * await runImportJob('Xenova/tiny-gpt2@main', { jobs, options }); // => 'done'
 */
export const runImportJob = async (
  id: string,
  deps: { jobs: ImportJobStore; options: HubImportOptions },
): Promise<JobOutcome> => {
  if (!(await deps.jobs.claim(id))) return 'skipped';
  const job = await deps.jobs.get(id);
  if (!job) return 'skipped';
  let result: Awaited<ReturnType<typeof importFromHub>>;
  try {
    result = await importFromHub(job, deps.options);
  } catch (error) {
    await deps.jobs.failed(id, reasonOf(error));
    return 'failed';
  }
  await deps.jobs.done(id, result);
  return 'done';
};
