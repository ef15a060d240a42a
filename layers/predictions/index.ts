import type { APIGatewayEventRequestContext } from 'aws-lambda';
import { config } from '#runtime/config.ts';
import { ClientClosedError, DeadlineExceededError } from '#runtime/errors.ts';
import { pendingCacheWrites } from './cache.ts';
import {
  type AnswerFields,
  hashApiKeyId,
  type Outcome,
  PredictionLog,
  type PredictionRecord,
  sha256Hex,
} from './log.ts';

export {
  type AnswerFields,
  type Billable,
  OUTCOMES,
  type Outcome,
  PredictionLog,
  type PredictionRecord,
} from './log.ts';

/**
 * The outcome an error ends a request with: the invocation's signal says whether it was
 * the deadline or the client leaving; anything else is an `error`.
 *
 * @example
 * outcomeOf(new DeadlineExceededError('late'), undefined); // => 'deadline'
 */
export const outcomeOf = (error: unknown, signal: AbortSignal | undefined): Outcome => {
  const reason = signal?.aborted ? signal.reason : error;
  if (reason instanceof DeadlineExceededError) return 'deadline';
  if (reason instanceof ClientClosedError) return 'client_aborted';
  return 'error';
};

/**
 * Logs what a request ended without delivering, when its signal says it was stopped (the
 * deadline, the client leaving): one record per input, with that outcome and no output.
 * Then the caller rethrows; any other error is left to the error envelope.
 *
 * @example
 * await work().catch((error) => { logAbandoned(log, texts, { model: 'm', version: '1' }, error, signal); throw error; });
 */
export const logAbandoned = (
  log: RequestRecords,
  inputs: readonly string[],
  model: { model: string; version: string },
  error: unknown,
  signal: AbortSignal | undefined,
): void => {
  if (!signal?.aborted) return;
  const outcome = outcomeOf(error, signal);
  predictionLog().write(
    inputs.map((text, index) => log.record(text, index, { ...model, latencyMs: 0, output: {}, outcome })),
  );
};

let shared: PredictionLog | undefined;
/** The process-wide prediction log, built from the configuration on first use. */
export const predictionLog = (): PredictionLog => {
  const c = config();
  shared ??= new PredictionLog({ ttlDays: c.PREDICTION_TTL_DAYS, companions: pendingCacheWrites });
  return shared;
};

/** What every record of one request shares: who asked, when, under which request id. */
const requestFields = (
  requestContext: Pick<APIGatewayEventRequestContext, 'requestId' | 'identity'>,
): Pick<PredictionRecord, 'requestId' | 'timestamp' | 'apiKeyIdHash'> => ({
  requestId: requestContext.requestId,
  timestamp: new Date().toISOString(),
  apiKeyIdHash: hashApiKeyId(requestContext.identity?.apiKeyId),
});

/** The input as the log keeps it: hash and length, and the text itself only if the stage opts in. */
const inputFields = (text: string): Pick<PredictionRecord, 'inputHash' | 'inputLength' | 'input'> => ({
  inputHash: sha256Hex(text),
  inputLength: text.length,
  ...(config().STORE_RAW_INPUTS ? { input: text } : {}),
});

/** The records of one request: every one shares its capability, request id, time and key. */
export interface RequestRecords {
  requestId: string;
  /** The caller's hashed key id (undefined without a key): the result caches' namespace. */
  tenant?: string;
  /** The record of the answer to `input`, item `index` of the request. */
  record: (input: string, index: number, answer: AnswerFields) => PredictionRecord;
}

/**
 * The one builder of prediction records (DESIGN.md, Contracts), for every capability.
 *
 * @example
 * const records = requestRecords('detect', event.requestContext);
 * records.record('Bonjour', 0, { model: 'lid176', version: '1', latencyMs: 1, output: { language: 'fr' } });
 * // => { requestId, timestamp, apiKeyIdHash, inputHash, inputLength: 7, capability: 'detect', index: 0, model: 'lid176', … }
 */
export const requestRecords = (
  capability: PredictionRecord['capability'],
  requestContext: Pick<APIGatewayEventRequestContext, 'requestId' | 'identity'>,
): RequestRecords => {
  const base = requestFields(requestContext);
  return {
    requestId: base.requestId,
    tenant: base.apiKeyIdHash,
    record: (input, index, answer) => ({
      ...base,
      ...inputFields(input),
      capability,
      index,
      ...answer,
      outcome: answer.outcome ?? 'ok',
      billable: answer.billable ?? { characters: input.length },
    }),
  };
};
