import * as z from 'zod';
import type { Config } from '#runtime/config.ts';
import type { HubId } from '#runtime/hub-id.ts';
import { TASKS, type Task } from '#runtime/manifest.ts';
import { type DocumentSender, dynamoSdk, isConditionalCheckFailed, requestPathClient } from './dynamo.ts';

export const IMPORT_STATUSES = ['queued', 'importing', 'done', 'failed'] as const;
export type ImportStatus = (typeof IMPORT_STATUSES)[number];

/** One import job as the table holds it. */
export const ImportJobSchema = z.object({
  id: z.string(),
  repo: z.string(),
  revision: z.string(),
  /** The task the request implied; without one, the import takes the Hub's `pipeline_tag`. */
  task: z.enum(TASKS).optional(),
  status: z.enum(IMPORT_STATUSES),
  /** Failed: why, in words that say what to do. */
  reason: z.string().optional(),
  /** Done: the registry model it was published as. */
  name: z.string().optional(),
  version: z.string().optional(),
  /** The commit sha the revision resolved to. */
  commit: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  updatedAtMs: z.number(),
  /** How many times the job was (re)queued. */
  attempts: z.number().int(),
  expiresAt: z.number().optional(),
});
export type ImportJob = z.infer<typeof ImportJobSchema>;

/**
 * A job queued or importing for longer than this is taken as dead (the import function has a
 * 15-minute limit): the next request queues it again.
 */
export const IMPORT_STALE_MS = 20 * 60_000;
/** Failed jobs are kept this long (their reason answers requests), then expire. */
const FAILED_TTL_SECONDS = 7 * 86_400;

/**
 * The import jobs table: serving functions queue a job with a conditional put (one job per
 * `org/name@revision`: concurrent requests share it) and read it; the import function
 * claims it (queued → importing, conditional, so a redelivered stream record imports
 * nothing twice) and ends it done or failed. A failed job is queued again by a request made
 * `retrySeconds` after it failed, not before: failing requests never become a retry storm.
 *
 * @example
 * const { job, created } = await jobs.request(parseHubId('Xenova/tiny-gpt2'), 'text-generation');
 * job.status; // => 'queued'
 */
export class ImportJobStore {
  constructor(
    private readonly deps: {
      client: DocumentSender;
      table: string;
      retrySeconds: number;
      now?: () => number;
    },
  ) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async get(id: string): Promise<ImportJob | undefined> {
    const { GetCommand } = await dynamoSdk();
    const out = await this.deps.client.send(
      new GetCommand({ TableName: this.deps.table, Key: { id }, ConsistentRead: true }),
    );
    return out.Item ? ImportJobSchema.parse(out.Item) : undefined;
  }

  /** Queues `hub` unless a live job exists; returns the job either way, and whether this call queued it. */
  async request(hub: HubId, task: Task | undefined): Promise<{ job: ImportJob; created: boolean }> {
    const now = this.now();
    const previous = await this.get(hub.key);
    const { PutCommand } = await dynamoSdk();
    const job: ImportJob = {
      id: hub.key,
      repo: hub.repo,
      revision: hub.revision,
      ...(task ? { task } : {}),
      status: 'queued',
      createdAt: new Date(now).toISOString(),
      updatedAt: new Date(now).toISOString(),
      updatedAtMs: now,
      attempts: (previous?.attempts ?? 0) + 1,
    };
    try {
      await this.deps.client.send(
        new PutCommand({
          TableName: this.deps.table,
          Item: job,
          ConditionExpression:
            'attribute_not_exists(id) OR (#s = :failed AND updatedAtMs < :retryCutoff) OR ((#s = :queued OR #s = :importing) AND updatedAtMs < :staleCutoff)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':queued': 'queued',
            ':importing': 'importing',
            ':retryCutoff': now - this.deps.retrySeconds * 1000,
            ':staleCutoff': now - IMPORT_STALE_MS,
          },
        }),
      );
      return { job, created: true };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const existing = await this.get(hub.key);
      if (!existing) throw error;
      return { job: existing, created: false };
    }
  }

  /** queued → importing; false when the job is not queued (another delivery has it, or it ended). */
  async claim(id: string): Promise<boolean> {
    try {
      await this.update(id, { status: 'importing' }, 'queued');
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /** importing → done, with the registry model it was published as. */
  done(id: string, result: { name: string; version: string; commit: string; task: Task }): Promise<void> {
    return this.update(id, { status: 'done', ...result }, 'importing');
  }

  /** importing → failed, with the reason requests are told until the retry delay passes. */
  failed(id: string, reason: string): Promise<void> {
    return this.update(
      id,
      { status: 'failed', reason, expiresAt: Math.floor(this.now() / 1000) + FAILED_TTL_SECONDS },
      'importing',
    );
  }

  private async update(id: string, fields: Record<string, unknown>, from: ImportStatus): Promise<void> {
    const now = this.now();
    const all = { ...fields, updatedAt: new Date(now).toISOString(), updatedAtMs: now };
    const names = Object.keys(all);
    const { UpdateCommand } = await dynamoSdk();
    await this.deps.client.send(
      new UpdateCommand({
        TableName: this.deps.table,
        Key: { id },
        UpdateExpression: `SET ${names.map((_, i) => `#f${i} = :v${i}`).join(', ')}`,
        ConditionExpression: '#status = :from',
        ExpressionAttributeNames: {
          '#status': 'status',
          ...Object.fromEntries(names.map((n, i) => [`#f${i}`, n])),
        },
        ExpressionAttributeValues: {
          ':from': from,
          ...Object.fromEntries(names.map((n, i) => [`:v${i}`, all[n as keyof typeof all]])),
        },
      }),
    );
  }
}

let shared: ImportJobStore | undefined;
let sharedFor: Config | undefined;
/** The process-wide job store for the configuration `c` (rebuilt when tests swap it). */
export const importJobs = (c: Config): ImportJobStore => {
  if (!shared || sharedFor !== c) {
    shared = new ImportJobStore({
      client: requestPathClient(c),
      table: c.IMPORTS_TABLE,
      retrySeconds: c.HUB_IMPORT_RETRY_SECONDS,
    });
    sharedFor = c;
  }
  return shared;
};
