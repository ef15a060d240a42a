import os from 'node:os';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { logger, metrics } from '#observability/index.ts';
import { importJobs } from '#predictions/import-jobs.ts';
import { config } from '#runtime/config.ts';
import { registryStore } from '#storage/registry-store.ts';
import { type JobOutcome, runImportJob } from './run.ts';

/** The ids of the stream's records that (re)queued a job: NEW_IMAGE items whose status is `queued`. */
export const queuedJobIds = (event: DynamoDBStreamEvent): string[] =>
  event.Records.flatMap((r) => {
    const image = r.dynamodb?.NewImage;
    const id = image?.id?.S;
    return r.eventName !== 'REMOVE' && image?.status?.S === 'queued' && id ? [id] : [];
  });

/**
 * The Hugging Face import function (docs/hub-import.md): outside the VPC, the only function
 * that calls the Hub. The import jobs table's stream invokes it when a serving function
 * queues a job; it pulls, validates and publishes each into the registry, one at a time.
 */
const importJobsOf = async (event: DynamoDBStreamEvent): Promise<Record<string, JobOutcome>> => {
  const c = config();
  const outcomes: Record<string, JobOutcome> = {};
  for (const id of queuedJobIds(event)) {
    const started = performance.now();
    outcomes[id] = await runImportJob(id, {
      jobs: importJobs(c),
      options: {
        store: registryStore(c),
        endpoint: c.HF_ENDPOINT,
        token: c.HF_TOKEN,
        workDir: os.tmpdir(),
        retryBaseMs: 500,
        io: { out: (line) => logger.debug(line), err: (line) => logger.info(line), isTTY: false },
      },
    });
    logger.info('import job ended', { id, outcome: outcomes[id], ms: Math.round(performance.now() - started) });
  }
  return outcomes;
};

export const handler = middy(importJobsOf)
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(logMetrics(metrics));
