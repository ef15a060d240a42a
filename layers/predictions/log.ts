import { createHash } from 'node:crypto';
import { PREDICTIONS_TABLE_KEYS } from './schema.ts';

/**
 * How a request ended, on each of its records: `ok` (answered), `deadline` (504: out of
 * time), `client_aborted` (the client left first), `error` (it failed after starting).
 */
export type Outcome = 'ok' | 'deadline' | 'client_aborted' | 'error';
export const OUTCOMES: readonly Outcome[] = ['ok', 'deadline', 'client_aborted', 'error'];

/** What a record's work costs, in the units a plan meters: input characters, model tokens. */
export interface Billable {
  characters: number;
  tokens?: number;
}

/** What a prediction record says of its answer (the rest is the request's and the input's). */
export interface AnswerFields {
  /** Default `ok`. */
  outcome?: Outcome;
  /** Default: the input's characters. */
  billable?: Billable;
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

/** One prediction, as DESIGN.md (Contracts) describes the log record; the builder always sets `outcome` and `billable` (records older than them have neither). */
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

/** The last key id hashed and its hash: an instance mostly serves the same few callers in a row. */
let lastKeyHash: { id: string; hash: string } | undefined;

/** The API key id, hashed: enough to group usage, useless to call the API with. */
export const hashApiKeyId = (apiKeyId: string | undefined | null): string | undefined => {
  if (!apiKeyId) return undefined;
  if (lastKeyHash?.id !== apiKeyId) lastKeyHash = { id: apiKeyId, hash: sha256Hex(`api-key:${apiKeyId}`).slice(0, 16) };
  return lastKeyHash.hash;
};

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

/** The first bytes of a records line: how the emulator and the subscription filter tell it from other lines. */
export const RECORDS_LINE_PREFIX = '{"type":"predictionRecords"';
/** Records per line: one BatchWrite's worth, and far below CloudWatch's 256 KB per log event. */
const RECORDS_PER_LINE = 25;
/** A line longer than this is split further (raw inputs can be long); CloudWatch's limit is 256 KB. */
const MAX_LINE_CHARS = 200_000;

/**
 * What a records line carries: prediction-table items, the result cache's deferred items,
 * and model-state items (`ModelStateStore.item`: a holder's copy loading, loaded, failed
 * or evicted), which go on lines of their own.
 */
export interface RecordsLine {
  type: 'predictionRecords';
  records: Record<string, unknown>[];
  cache?: Record<string, unknown>[];
  models?: Record<string, unknown>[];
}

/** The records line of model-state items: no records, so the same subscription and ingester take it. */
export const modelStatesLine = (models: Record<string, unknown>[]): string =>
  JSON.stringify({ type: 'predictionRecords', records: [], models } satisfies RecordsLine);

/** The lines of a request's records: 25 records a line, halved while a line is too long. */
export const recordsLines = (records: Record<string, unknown>[], cache: Record<string, unknown>[] = []): string[] => {
  const lines: string[] = [];
  const emit = (part: Record<string, unknown>[], withCache: Record<string, unknown>[]) => {
    const line = JSON.stringify({
      type: 'predictionRecords',
      records: part,
      ...(withCache.length > 0 ? { cache: withCache } : {}),
    } satisfies RecordsLine);
    if (line.length <= MAX_LINE_CHARS || part.length + withCache.length <= 1) {
      lines.push(line);
      return;
    }
    // Too long: the records in halves, the cache items (best effort) on lines of their own.
    if (withCache.length > 0) {
      emit(part, []);
      for (const item of withCache) emit([], [item]);
      return;
    }
    const half = Math.ceil(part.length / 2);
    emit(part.slice(0, half), []);
    emit(part.slice(half), []);
  };
  for (let start = 0; start < Math.max(records.length, 1); start += RECORDS_PER_LINE) {
    emit(records.slice(start, start + RECORDS_PER_LINE), start === 0 ? cache : []);
  }
  return lines.filter((l) => l !== '{"type":"predictionRecords","records":[]}');
};

/**
 * The prediction log, off the response path: a request's records (and the result cache's
 * pending writes) are written synchronously to stdout as structured lines before the
 * handler returns; no DynamoDB call and no AWS SDK on the way to the answer. In AWS a
 * CloudWatch Logs subscription filter feeds them to the ingester function, locally the
 * emulator feeds them to the same ingester code (`layers/predictions/ingest.ts`), which
 * batch-writes them (docs/prediction-log.md). A write to a pipe or a file is synchronous
 * in Node on Linux: once `write` returns, the line is in the log stream, so an instance
 * frozen or killed after answering loses nothing.
 */
export class PredictionLog {
  constructor(
    private readonly deps: {
      ttlDays: number;
      /** Prints one line; stdout by default (Lambda's log stream). */
      print?: (line: string) => void;
      /** The result cache's deferred writes, as table items, taken once per request. */
      companions?: () => Record<string, unknown>[] | undefined;
    },
  ) {}

  write(records: PredictionRecord[]): void {
    const items = records.map((r) => toItem(r, this.deps.ttlDays));
    const print = this.deps.print ?? ((line: string) => process.stdout.write(`${line}\n`));
    for (const line of recordsLines(items, this.deps.companions?.() ?? [])) print(line);
  }
}
