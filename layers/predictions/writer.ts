import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Breaker } from './breaker.ts';
import type { CounterUpdate } from './counters.ts';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';

const BATCH_WRITE_LIMIT = 25;
const MAX_ATTEMPTS = 4;
/** Counters per UpdateItem: `#cNNN :cNNN, ` each, well inside the 4 KB expression limit. */
const MAX_COUNTERS_PER_UPDATE = 100;

/**
 * The one writer of prediction records to DynamoDB (the ingester calls it with the
 * records of a batch of log lines). Records go in one BatchWrite per 25 items;
 * items DynamoDB leaves unprocessed are retried with backoff (a failed call only by the
 * client's own attempts); whatever it still refuses is written whole to a structured
 * fallback log line (`predictionLogFallback`), so a CloudWatch Logs subscription or
 * Insights query can replay it: no record is lost.
 */
export class RecordWriter {
  fallbacks = 0;

  constructor(
    private readonly deps: {
      client: DynamoDBDocumentClient;
      table: string;
      /** Where refused records go: a logger that `LOG_LEVEL` cannot silence (`dataLogger`). */
      logger: Pick<Logger, 'error'>;
      onFallback?: (count: number) => void;
      /** Skips the table for a while after a call timed out (see `Breaker`). */
      breaker?: Breaker;
    },
  ) {}

  /** Writes prediction-table items (`toItem`), with `extra` best-effort items of another table. */
  async write(
    records: Record<string, unknown>[],
    extra?: { table: string; items: Record<string, unknown>[] },
  ): Promise<number> {
    const before = this.fallbacks;
    let companions = extra?.items ?? [];
    for (let start = 0; start < records.length; start += BATCH_WRITE_LIMIT) {
      const chunk = records.slice(start, start + BATCH_WRITE_LIMIT);
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
    return this.fallbacks - before;
  }

  /**
   * Applies counter updates (`counterUpdates`) to the table: one UpdateItem `ADD` per
   * item (per 100 counters of it). An update DynamoDB refuses (after the client's own
   * attempts) is not retried here, where a retry of a call that may have succeeded would
   * double-count: it goes to a `counterFallback` log line (replayable). Says how many
   * UpdateItems were applied and refused.
   */
  async applyCounters(updates: readonly CounterUpdate[]): Promise<{ applied: number; refused: number }> {
    let refused = 0;
    // An update expression may be 4 KB long: a batch of many labels is split in several ADDs.
    const parts = updates.flatMap((u) => {
      const names = Object.keys(u.add);
      return Array.from({ length: Math.ceil(names.length / MAX_COUNTERS_PER_UPDATE) }, (_, i) => ({
        ...u,
        add: Object.fromEntries(
          names.slice(i * MAX_COUNTERS_PER_UPDATE, (i + 1) * MAX_COUNTERS_PER_UPDATE).map((n) => [n, u.add[n]!]),
        ),
      }));
    });
    for (const u of parts) {
      const names = Object.keys(u.add);
      const command = new UpdateCommand({
        TableName: this.deps.table,
        Key: { [PREDICTIONS_TABLE_KEYS.partitionKey]: u.pk, [PREDICTIONS_TABLE_KEYS.sortKey]: u.sk },
        UpdateExpression: `ADD ${names.map((_, i) => `#c${i} :c${i}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(names.map((n, i) => [`#c${i}`, n])),
        ExpressionAttributeValues: Object.fromEntries(names.map((n, i) => [`:c${i}`, u.add[n]])),
      });
      try {
        await (this.deps.breaker
          ? this.deps.breaker.run(() => this.deps.client.send(command))
          : this.deps.client.send(command));
      } catch (error) {
        refused += 1;
        this.deps.logger.error('counterFallback', {
          counterFallback: u,
          table: this.deps.table,
          reason: error instanceof Error ? error.message : 'update refused',
        });
      }
    }
    return { applied: parts.length - refused, refused };
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
