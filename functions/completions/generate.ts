import { callerMessage, describeError, logError } from '#http/error-envelope.ts';
import { requestIdOf } from '#http/request-id.ts';
import { json } from '#http/response.ts';
import { sseResponse, sseStream } from '#http/sse.ts';
import type { ApiResult } from '#http/types.ts';
import { flushMetrics, logger } from '#observability/index.ts';
import { outcomeOf } from '#predictions/index.ts';
import { ValidationError } from '#runtime/errors.ts';
import { checkContext, type GenerateOptions, type Generator, type TokenDelta } from '#tasks/generation/index.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { hubModel } from '../hub-model.ts';
import type { completions } from './routes.ts';
import { GENERATE_DEFAULT_NEW_TOKENS, type GenerateRequest } from './schemas.ts';
import { deadlineOf, loadModel, recordGeneration } from './serve.ts';

/**
 * What a generate body asks for. Seed shape: greedy, `max_length` counting the prompt (as
 * transformers does), the answer with the prompt. TGI shape: greedy unless `do_sample` or a
 * sampling parameter asks otherwise, the answer without the prompt unless `return_full_text`.
 */
export const generateJob = (gen: Generator, body: GenerateRequest) => {
  const prompt = body.text ?? body.inputs!;
  const field = body.text !== undefined ? 'text' : 'inputs';
  const promptTokens = gen.countTokens(prompt);
  const p = body.parameters ?? {};
  let maxTokens = p.max_new_tokens ?? GENERATE_DEFAULT_NEW_TOKENS;
  if (body.max_length !== undefined) {
    maxTokens = body.max_length - promptTokens;
    if (maxTokens < 1) {
      throw new ValidationError(
        `max_length counts the prompt's ${promptTokens} tokens (as in transformers): make it at least ${promptTokens + 1}.`,
        { param: 'max_length' },
      );
    }
  }
  checkContext(gen.info().contextLength, promptTokens, maxTokens, field);
  const sample = p.do_sample ?? (p.temperature != null || p.top_p != null || (p.top_k ?? 0) > 0);
  const options: GenerateOptions = {
    maxTokens,
    temperature: sample ? (p.temperature ?? 1) : 0,
    topP: p.top_p ?? 1,
    topK: p.top_k ?? 0,
    stop: p.stop ?? [],
    ...(p.seed == null ? {} : { seed: p.seed }),
  };
  return { prompt, options, fullText: body.text !== undefined || (p.return_full_text ?? false) };
};

/** TGI's finish reasons; a `stop` is a stop sequence when the request gave some, else the end-of-sequence token. */
const finishReason = (reason: TokenDelta['finishReason'], stops: GenerateOptions['stop']) =>
  reason === 'length' ? 'length' : (stops?.length ?? 0) > 0 ? 'stop_sequence' : 'eos_token';

/**
 * `POST /models/{model}/generate`: `{generated_text}`, or with `stream: true` Text
 * Generation Inference's server-sent token events (the last one carries `generated_text`
 * and `details`), on the generation task's decode loop; one record per request.
 */
export const generateRoute: RouteHandlerOf<typeof completions.routes.generate> = async ({
  params,
  body,
  event,
  context,
  records,
  meter,
}): Promise<ApiResult> => {
  // A Hugging Face id (`org%2Fname` in the path) the registry does not hold yet answers 202 while it is imported.
  const target = await hubModel(params.model, 'text-generation');
  if ('answer' in target) return target.answer;
  const loaded = await loadModel(target.ref);
  const job = generateJob(loaded.value, body);
  const options = { ...job.options, deadline: deadlineOf(context) };
  const text = (completion: string) => (job.fullText ? job.prompt + completion : completion);
  const logged = { kind: 'generate' as const, prompts: [job.prompt] };
  if (!body.stream) {
    const result = await loaded.value.generate(job.prompt, options);
    await meter.settle(result.completionTokens);
    await recordGeneration(records, logged, loaded, [result]);
    return json({ generated_text: text(result.choices[0]?.text ?? '') });
  }
  let index = 0;
  let sofar = '';
  const stream = sseStream(
    async (send, signal) => {
      // The client leaving aborts the generation between two decoder steps.
      const streamed = { ...options, signal };
      try {
        const result = await loaded.value.generate(job.prompt, streamed, (d) => {
          sofar += d.text;
          index += d.tokenIds.length;
          const last = d.finishReason !== undefined;
          send({
            index,
            token: { id: d.tokenIds.at(-1) ?? -1, text: d.text, logprob: null, special: false },
            generated_text: last ? text(sofar) : null,
            details: last
              ? {
                  finish_reason: finishReason(d.finishReason, options.stop),
                  generated_tokens: index,
                  seed: options.seed ?? null,
                }
              : null,
          });
        });
        await recordGeneration(records, logged, loaded, [result]);
      } catch (error) {
        // A cut stream is still recorded, with how far it got and why it stopped.
        const unfinished = {
          outcome: outcomeOf(error, signal),
          promptTokens: loaded.value.countTokens(job.prompt),
          completionTokens: index,
        };
        await meter.settle(index);
        await recordGeneration(records, logged, loaded, [], unfinished);
        throw error;
      } finally {
        flushMetrics();
      }
    },
    // After the status line: TGI's error event.
    (error) => {
      const info = describeError(error);
      logError(logger, info, error);
      return { error: callerMessage(info, requestIdOf(event, context.awsRequestId)), error_type: info.code };
    },
    { done: false },
  );
  return sseResponse(stream);
};
