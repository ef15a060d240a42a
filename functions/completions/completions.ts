import { checkContext, resolveOptions } from '#tasks/generation/index.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { optionsOf } from './openai.ts';
import type { completions } from './routes.ts';
import type { CompletionRequest } from './schemas.ts';
import { type GenerationJob, serve } from './serve.ts';

/** What `POST /v1/completions` asks the generator for; OpenAI's default `max_tokens` is 16. */
export const completionJob = (r: CompletionRequest): GenerationJob => {
  const prompts = typeof r.prompt === 'string' ? [r.prompt] : r.prompt;
  const options = optionsOf(r, 16);
  return {
    kind: 'completion',
    model: r.model,
    prompts,
    options,
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
    validate: (gen) => {
      const { maxTokens } = resolveOptions(options);
      for (const p of prompts) checkContext(gen.info().contextLength, gen.countTokens(p), maxTokens, 'prompt');
    },
    run: (gen, opts, onToken, p = 0) => gen.generate(prompts[p]!, opts, onToken),
  };
};

/** `POST /v1/completions`: OpenAI's text completion, one JSON answer or SSE chunks. */
export const completionsRoute: RouteHandlerOf<typeof completions.routes.completions> = (request) =>
  serve(request, completionJob(request.body));

/** `POST /models/{model}/v1/completions`: the same, for the model the path names. */
export const endpointCompletionsRoute: RouteHandlerOf<typeof completions.routes.endpointCompletions> = (request) =>
  serve(request, completionJob({ ...request.body, model: request.params.model }));
