import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Breaker } from './breaker.ts';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';

/** What a prediction record says of its answer (the rest is the request's and the input's). */
export interface AnswerFields {
  model: string;
  version: string;
  latencyMs: number;
  /** What the model answered, summarised: label/score, language, token counts. */
  output: Record<string, unknown>;
  alias?: string;
  canary?: boolean;
  /** True when the answer came from the result cache (no inference). */
  cached?: boolean;
  /** Compare requests: the id shared by both sides, and which side this record is. */
  comparisonId?: string;
  side?: 'a' | 'b';
  /**
   * Keeps records of one request and one model unique when a request logs several
   * (compare sides `a`/`b`, ensemble members `m0`…): appended to the sort key.
   */
  part?: string;
  [extra: string]: unknown;
}

/** One prediction, as DESIGN.md (Contracts) describes the log record. */
export interface PredictionRecord extends AnswerFields {
  /** The capability that answered (its name in functions/routes.ts). */
  capability: string;
  requestId: string;
  /** Position of the item in a batch request (0 for single requests). */
  index: number;
  /** ISO 8601, UTC. */
  timestamp: string;
  inputHash: string;
  inputLength: number;
  /** The raw input, only when the stage opts in (STORE_RAW_INPUTS). */
  input?: string;
  apiKeyIdHash?: string;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The API key id, hashed: enough to group usage, useless to call the API with. */
export const hashApiKeyId = (apiKeyId: string | undefined | null): string | undefined =>
  apiKeyId ? sha256Hex(`api-key:${apiKeyId}`).slice(0, 16) : undefined;

const BATCH_WRITE_LIMIT = 25;
const MAX_ATTEMPTS = 4;

/** The table item of a record: keys from schema.ts plus the TTL. */
export const toItem = (record: PredictionRecord, ttlDays: number): Record<string, unknown> => {
  const day = record.timestamp.slice(0, 10);
  return {
    ...record,
    [PREDICTIONS_TABLE_KEYS.partitionKey]: `${record.capability}#${record.model}#${day}`,
    [PREDICTIONS_TABLE_KEYS.sortKey]: `${record.timestamp}#${record.requestId}#${String(record.index).padStart(5, '0')}${record.part ? `#${record.part}` : ''}`,
    [PREDICTIONS_TABLE_KEYS.ttlAttribute]: Math.floor(Date.parse(record.timestamp) / 1000) + ttlDays * 86_400,
  };
};

/**
 * The DynamoDB prediction log. A request's records go in one BatchWrite per 25 items;
 * items DynamoDB leaves unprocessed are retried with backoff (a failed call only by the
 * client's own attempts); whatever it still refuses is written whole to a structured
 * fallback log line (`predictionLogFallback`), so a CloudWatch Logs subscription or
 * Insights query can replay it: no record is lost.
 */
export class PredictionLog {
  fallbacks = 0;

  constructor(
    private readonly deps: {
      client: DynamoDBDocumentClient;
      table: string;
      ttlDays: number;
      /** Where refused records go: a logger that `LOG_LEVEL` cannot silence (`dataLogger`). */
      logger: Pick<Logger, 'error'>;
      onFallback?: (count: number) => void;
      /** Skips the table for a while after a call timed out (see `Breaker`). */
      breaker?: Breaker;
      /**
       * Other items to put in the same BatchWrite (the result cache's deferred writes):
       * one round trip per request for both. They are best effort: what DynamoDB refuses
       * of them is dropped, never sent to the fallback log.
       */
      companions?: () => { table: string; items: Record<string, unknown>[] } | undefined;
    },
  ) {}

  async write(records: PredictionRecord[]): Promise<void> {
    const extra = this.deps.companions?.();
    let companions = extra?.items ?? [];
    for (let start = 0; start < records.length; start += BATCH_WRITE_LIMIT) {
      const chunk = records.slice(start, start + BATCH_WRITE_LIMIT).map((r) => toItem(r, this.deps.ttlDays));
      const room = BATCH_WRITE_LIMIT - chunk.length;
      await this.writeChunk(
        chunk,
        extra && room > 0 ? { table: extra.table, items: companions.slice(0, room) } : undefined,
      );
      companions = companions.slice(Math.max(0, room));
    }
    // More companions than room beside the records (a large batch filling the cache).
    for (let start = 0; extra && start < companions.length; start += BATCH_WRITE_LIMIT) {
      await this.writeChunk([], { table: extra.table, items: companions.slice(start, start + BATCH_WRITE_LIMIT) });
    }
  }

  private async writeChunk(
    items: Record<string, unknown>[],
    companions?: { table: string; items: Record<string, unknown>[] },
  ): Promise<void> {
    let pending = items;
    // Companions go with the first attempt only: a retry is for the records.
    let extra = companions?.items.length ? companions : undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS && (pending.length > 0 || extra); attempt++) {
      const withCompanions = extra !== undefined;
      try {
        const requestItems: Record<string, Array<{ PutRequest: { Item: Record<string, unknown> } }>> = {};
        if (pending.length > 0) requestItems[this.deps.table] = pending.map((Item) => ({ PutRequest: { Item } }));
        if (extra) requestItems[extra.table] = extra.items.map((Item) => ({ PutRequest: { Item } }));
        extra = undefined;
        const command = new BatchWriteCommand({ RequestItems: requestItems });
        const out = await (this.deps.breaker
          ? this.deps.breaker.run(() => this.deps.client.send(command))
          : this.deps.client.send(command));
        pending = (out.UnprocessedItems?.[this.deps.table] ?? []).map((r) => r.PutRequest?.Item ?? {});
      } catch (error) {
        // The client has retried it already (REQUEST_PATH_CLIENT): another round here would
        // multiply the attempts an answer waits for while the table is unreachable.
        lastError = error;
        // A refused companion (a cache item) must not cost the records: they go again alone.
        if (!withCompanions || pending.length === 0) break;
      }
      if (pending.length > 0 && attempt < MAX_ATTEMPTS) await sleep(25 * 2 ** attempt);
    }
    if (pending.length === 0) return;
    this.fallbacks += pending.length;
    this.deps.onFallback?.(pending.length);
    for (const item of pending) {
      this.deps.logger.error('predictionLogFallback', {
        predictionLogFallback: item,
        table: this.deps.table,
        reason: lastError instanceof Error ? lastError.message : 'unprocessed items after retries',
      });
    }
  }
}
