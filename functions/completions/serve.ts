import { callerMessage, describeError, logError, openAIErrorBody } from '#http/error-envelope.ts';
import { requestIdOf } from '#http/request-id.ts';
import { json } from '#http/response.ts';
import { type SendEvent, sseResponse, sseStream } from '#http/sse.ts';
import type { ApiResult } from '#http/types.ts';
import { flushMetrics, logger, MetricName, MetricUnit, metrics } from '#observability/index.ts';
import { type Outcome, outcomeOf, predictionLog, type RequestRecords } from '#predictions/index.ts';
import { config } from '#runtime/config.ts';
import { InvalidModelRefError, ModelNotFoundError, UnknownModelError } from '#runtime/errors.ts';
import type { LoadedModel } from '#runtime/models.ts';
import { modelRuntime } from '#storage/model-runtime.ts';
import {
  type GenerateOptions,
  type GenerationResult,
  type Generator,
  loadGenerator,
  type TokenDelta,
} from '#tasks/generation/index.ts';
import type { RouteRequest } from '../bind.ts';
import { hubModel } from '../hub-model.ts';
import { completionId, nowSeconds, usage } from './openai.ts';

/** What one OpenAI request asks the generator for, whatever its route. */
export interface GenerationJob {
  kind: 'completion' | 'chat';
  model: string;
  /** One entry per prompt (chat: one). */
  run: (
    gen: Generator,
    options: GenerateOptions,
    onToken?: (d: TokenDelta) => void,
    prompt?: number,
  ) => Promise<GenerationResult>;
  /**
   * Throws the request's 4xx before anything is sent (a stream cannot change its status
   * later): the options, and every prompt against the model's context window.
   */
  validate: (gen: Generator) => void;
  prompts: string[];
  options: GenerateOptions;
  stream: boolean;
  includeUsage: boolean;
}

/** Loads a model by name on first use (any text-generation model of the registry). */
export const loadModel = async (ref: string): Promise<LoadedModel<Generator>> => {
  try {
    return await modelRuntime().load<Generator>(ref, 'text-generation', (b) => loadGenerator(b));
  } catch (error) {
    // OpenAI answers an unknown model with 404 model_not_found; a malformed one stays a 400 naming `model`.
    if (error instanceof UnknownModelError && !(error instanceof InvalidModelRefError)) {
      throw new ModelNotFoundError(error.message, { cause: error });
    }
    throw error;
  }
};

/** Epoch ms before which generation must stop so the answer beats the function timeout. */
export const deadlineOf = (context: RouteRequest['context']): number =>
  Date.now() + context.getRemainingTimeInMillis() - config().DEADLINE_MARGIN_MS * 2;

/** Tokens generated over a request's prompts: what it is charged in the end. */
export const completionTokens = (results: readonly GenerationResult[]): number =>
  results.reduce((n, r) => n + r.completionTokens, 0);

/** What the records of a generation that did not finish say: how far it got, and why it stopped. */
interface Unfinished {
  outcome: Outcome;
  promptTokens: number;
  completionTokens: number;
}

export const recordGeneration = async (
  records: () => RequestRecords,
  job: { kind: GenerationJob['kind'] | 'generate'; prompts: readonly string[] },
  loaded: LoadedModel<Generator>,
  results: GenerationResult[],
  unfinished?: Unfinished,
) => {
  const completion = completionTokens(results);
  const duration = results.reduce((n, r) => n + r.durationMs, 0);
  // The model's time for the request, as every other capability reports it (its dashboard series).
  if (duration > 0) metrics.addMetric(MetricName.InferenceMs, MetricUnit.Milliseconds, duration);
  metrics.addMetric(MetricName.TokensGenerated, MetricUnit.Count, completion);
  const ttft = results[0]?.timeToFirstTokenMs;
  if (ttft != null) metrics.addMetric(MetricName.TimeToFirstTokenMs, MetricUnit.Milliseconds, ttft);
  if (duration > 0) metrics.addMetric(MetricName.TokensPerSecond, MetricUnit.Count, (completion * 1000) / duration);
  const log = records();
  const prompt = (index: number) => job.prompts[index] ?? '';
  const billable = (index: number, tokens: number) => ({ characters: prompt(index).length, tokens });
  const done = results.map((r, index) =>
    log.record(prompt(index), index, {
      model: loaded.name,
      version: loaded.version,
      latencyMs: Math.round(r.durationMs),
      billable: billable(index, r.promptTokens + r.completionTokens),
      output: {
        kind: job.kind,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        finishReasons: r.choices.map((c) => c.finishReason),
        timeToFirstTokenMs: r.timeToFirstTokenMs === null ? null : Math.round(r.timeToFirstTokenMs),
      },
    }),
  );
  // The prompt being generated when the request ended early; the ones after it never started.
  const cut = unfinished
    ? [
        log.record(prompt(results.length), results.length, {
          model: loaded.name,
          version: loaded.version,
          latencyMs: 0,
          outcome: unfinished.outcome,
          billable: billable(results.length, unfinished.promptTokens + unfinished.completionTokens),
          output: {
            kind: job.kind,
            promptTokens: unfinished.promptTokens,
            completionTokens: unfinished.completionTokens,
          },
        }),
      ]
    : [];
  predictionLog().write([...done, ...cut]);
};

/**
 * Runs a completions or chat job and answers as OpenAI does: one JSON object, or (with
 * `stream`) Server-Sent Events chunk by chunk as tokens are generated.
 */
export const serve = async (
  { event, context, records, meter }: Pick<RouteRequest, 'event' | 'context' | 'records' | 'meter'>,
  job: GenerationJob,
): Promise<ApiResult> => {
  // A Hugging Face id the registry does not hold yet answers 202 while it is imported.
  const target = await hubModel(job.model, 'text-generation');
  if ('answer' in target) return target.answer;
  const loaded = await loadModel(target.ref);
  const id = completionId(job.kind === 'chat' ? 'chatcmpl' : 'cmpl');
  const created = nowSeconds();
  const model = `${loaded.name}@${loaded.version}`;
  const n = job.options.n ?? 1;
  const options = { ...job.options, deadline: deadlineOf(context) };
  const object = job.kind === 'chat' ? 'chat.completion' : 'text_completion';
  const totals = (results: GenerationResult[]) =>
    usage(
      results.reduce((s, r) => s + r.promptTokens, 0),
      completionTokens(results),
    );
  const choiceOf = (p: number, c: GenerationResult['choices'][number]) =>
    job.kind === 'chat'
      ? {
          index: p * n + c.index,
          message: { role: 'assistant', content: c.text },
          logprobs: null,
          finish_reason: c.finishReason,
        }
      : { index: p * n + c.index, text: c.text, logprobs: null, finish_reason: c.finishReason };

  // Every prompt is checked before any is generated: a bad last prompt is a 400 that costs nothing.
  job.validate(loaded.value);
  if (!job.stream) {
    const results: GenerationResult[] = [];
    for (let p = 0; p < job.prompts.length; p++) results.push(await job.run(loaded.value, options, undefined, p));
    // What was reserved and not generated (an early stop, an end-of-sequence) goes back to the key.
    await meter.settle(completionTokens(results));
    await recordGeneration(records, job, loaded, results);
    const choices = results.flatMap((r, p) => r.choices.map((c) => choiceOf(p, c)));
    return json({ id, object, created, model, system_fingerprint: null, choices, usage: totals(results) });
  }

  // Validated above, before the 200 goes out: a bad option is a normal 400, not a broken stream.
  const chunkObject = job.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    id,
    object: chunkObject,
    created,
    model,
    system_fingerprint: null,
    choices,
    ...(job.includeUsage ? { usage: null } : {}),
    ...extra,
  });
  const body = sseStream(
    async (send, signal) => {
      try {
        await produce(send, signal);
      } finally {
        // The middlewares published when the handler returned, before these tokens existed.
        flushMetrics();
      }
    },
    // The status line has gone out: the error is the stream's last event, in OpenAI's shape.
    (error) => {
      const info = describeError(error);
      logError(logger, info, error);
      return openAIErrorBody(info, callerMessage(info, requestIdOf(event, context.awsRequestId)));
    },
  );
  async function produce(send: SendEvent, signal: AbortSignal): Promise<void> {
    // The client leaving aborts the generation between two decoder steps.
    const streamed = { ...options, signal: options.signal ? AbortSignal.any([options.signal, signal]) : signal };
    const results: GenerationResult[] = [];
    let sent = 0;
    try {
      for (let p = 0; p < job.prompts.length; p++) {
        sent = 0;
        results.push(await job.run(loaded.value, streamed, onTokenOf(p), p));
      }
    } catch (error) {
      const outcome = outcomeOf(error, streamed.signal);
      const promptTokens = loaded.value.countTokens(job.prompts[results.length] ?? '');
      // A cut stream (client gone, deadline) is charged what it generated, the cut prompt's tokens included.
      await meter.settle(completionTokens(results) + sent);
      await recordGeneration(records, job, loaded, results, { outcome, promptTokens, completionTokens: sent });
      throw error;
    }
    await meter.settle(completionTokens(results));
    await recordGeneration(records, job, loaded, results);
    if (job.includeUsage) send(chunk([], { usage: totals(results) }));

    function onTokenOf(p: number) {
      const started = new Set<number>();
      return (d: TokenDelta) => {
        sent += d.tokenIds.length;
        const index = p * n + d.index;
        if (job.kind === 'chat' && !started.has(index)) {
          started.add(index);
          send(chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
        }
        const payload = job.kind === 'chat' ? { delta: d.text ? { content: d.text } : {} } : { text: d.text };
        if (d.text || d.finishReason) {
          send(chunk([{ index, ...payload, logprobs: null, finish_reason: d.finishReason ?? null }]));
        }
      };
    }
  }
  return sseResponse(body);
};

/** The default model loaded: what provisioned concurrency does during init. */
export const warmDefaultModel = () => loadModel(config().DEFAULT_COMPLETIONS_MODEL);
