import { dataLogger, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { type Config, config } from '#runtime/config.ts';
import { Breaker } from './breaker.ts';
import { makeDocumentClient } from './client.ts';
import { counterUpdates } from './counters.ts';
import { REQUEST_PATH_CLIENT } from './dynamo.ts';
import { type PredictionRecord, RECORDS_LINE_PREFIX, type RecordsLine } from './log.ts';
import { ModelStateStore } from './model-state.ts';
import { RecordWriter } from './writer.ts';

/**
 * The records line a log line is, or undefined for any other line (log, EMF, a line cut
 * short). Cheap on other lines: only a line that starts with the prefix is parsed.
 */
export const parseRecordsLine = (line: string): RecordsLine | undefined => {
  const start = line.indexOf(RECORDS_LINE_PREFIX);
  if (start < 0) return undefined;
  try {
    const parsed = JSON.parse(line.slice(start)) as Partial<RecordsLine>;
    return Array.isArray(parsed.records)
      ? {
          type: 'predictionRecords',
          records: parsed.records,
          cache: parsed.cache,
          ...(Array.isArray(parsed.models) ? { models: parsed.models } : {}),
        }
      : undefined;
  } catch {
    return undefined;
  }
};

/** A record the counters can place: its capability, model and timestamp are strings. */
const countable = (r: Record<string, unknown>): r is Record<string, unknown> & PredictionRecord =>
  typeof r.capability === 'string' && typeof r.model === 'string' && typeof r.timestamp === 'string';

/**
 * What one ingestion did: records written or sent to the fallback, lines that were not
 * records, counter UpdateItems applied and those sent to `counterFallback` lines.
 */
export interface IngestResult {
  records: number;
  refused: number;
  skipped: number;
  counters: number;
  countersRefused: number;
  /** Model-state items put (stale or failed ones are not: status is best effort). */
  modelStates: number;
}

/**
 * Loads records lines into DynamoDB: every record of a batch of lines through the one
 * `RecordWriter` (25 a BatchWrite, retries, fallback lines for what is still refused),
 * and the result cache's items beside them, best effort. Writing a record twice writes
 * the same keys (`toItem`), so a batch delivered again (Lambda's retries, a redrive from
 * the dead-letter queue) duplicates nothing. Used by the ingest function in AWS and by the
 * emulator locally.
 *
 * Then the batch's analytics counters (`counterUpdates`, UpdateItem `ADD`), only once
 * every record of the batch is written: a batch with refused records fails its invocation
 * and comes again whole (Lambda's retries, the dead-letter queue's redrive), and is
 * counted then, so a retried batch is not counted twice. The bound: an invocation that
 * dies (timeout, crash) after some of its counter updates double-counts those on retry.
 *
 * Model-state items (`models`) are put last, each only over an older one of its holder
 * (`ModelStateStore.apply`), best effort: they never fail a batch.
 */
export class RecordIngester {
  constructor(
    private readonly deps: {
      writer: RecordWriter;
      cacheTable: string;
      modelStates?: Pick<ModelStateStore, 'apply'>;
    },
  ) {}

  async ingest(lines: Iterable<string>): Promise<IngestResult> {
    const records: Record<string, unknown>[] = [];
    const cache: Record<string, unknown>[] = [];
    const models: Record<string, unknown>[] = [];
    let skipped = 0;
    for (const line of lines) {
      const parsed = parseRecordsLine(line);
      if (!parsed) {
        skipped += 1;
        continue;
      }
      records.push(...parsed.records);
      if (parsed.cache) cache.push(...parsed.cache);
      if (parsed.models) models.push(...parsed.models);
    }
    const refused = await this.deps.writer.write(
      records,
      cache.length > 0 ? { table: this.deps.cacheTable, items: cache } : undefined,
    );
    const modelStates = models.length > 0 && this.deps.modelStates ? await this.deps.modelStates.apply(models) : 0;
    if (refused > 0) return { records: records.length, refused, skipped, counters: 0, countersRefused: 0, modelStates };
    const updates = counterUpdates(records.filter(countable));
    const counters = await this.deps.writer.applyCounters(updates);
    return {
      records: records.length,
      refused,
      skipped,
      counters: counters.applied,
      countersRefused: counters.refused,
      modelStates,
    };
  }
}

/**
 * An ingester on the configured tables. Its client keeps the bounded attempts and
 * timeouts of the request-path clients, and a breaker of its own: a table that does not
 * answer sends records to the fallback in seconds (and the next batches at once, for
 * 10 s) rather than holding every batch until the function times out.
 */
export const makeRecordIngester = (c: Config = config()): RecordIngester => {
  const client = makeDocumentClient(c, REQUEST_PATH_CLIENT);
  return new RecordIngester({
    writer: new RecordWriter({
      client,
      table: c.PREDICTIONS_TABLE,
      logger: dataLogger,
      breaker: new Breaker({ openMs: 10_000 }),
      onFallback: (count) => metrics.addMetric(MetricName.PredictionLogFallback, MetricUnit.Count, count),
    }),
    cacheTable: c.RESULT_CACHE_TABLE,
    modelStates: new ModelStateStore({ client, table: c.MODEL_STATE_TABLE, ttlSeconds: c.MODEL_STATE_TTL_SECONDS }),
  });
};
