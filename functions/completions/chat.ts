import { ValidationError } from '#runtime/errors.ts';
import { type ChatMessage, checkContext, resolveOptions } from '#tasks/generation/index.ts';
import type { RouteHandlerOf } from '../bind.ts';
import { messageText, optionsOf } from './openai.ts';
import type { completions } from './routes.ts';
import type { ChatRequest } from './schemas.ts';
import { type GenerationJob, serve } from './serve.ts';

/** What `POST /v1/chat/completions` asks the generator for; `developer` is OpenAI's newer name for `system`. */
export const chatJob = (r: ChatRequest): GenerationJob => {
  const messages: ChatMessage[] = r.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: messageText(m.content),
  }));
  if (messages.at(-1)?.role === 'assistant' && messages.length === 1) {
    throw new ValidationError('messages must include a user or system message, not only an assistant one.', {
      param: 'messages',
    });
  }
  const options = optionsOf({ ...r, max_tokens: r.max_completion_tokens ?? r.max_tokens });
  return {
    kind: 'chat',
    model: r.model,
    prompts: [messages.map((m) => `${m.role}: ${m.content}`).join('\n')],
    options,
    stream: r.stream ?? false,
    includeUsage: r.stream_options?.include_usage ?? false,
    validate: (gen) => {
      const { maxTokens } = resolveOptions(options);
      checkContext(gen.info().contextLength, gen.encodeChat(messages).length, maxTokens, 'messages');
    },
    run: (gen, opts, onToken) => gen.chat(messages, opts, onToken),
  };
};

/** `POST /v1/chat/completions`: OpenAI's chat completion over the model's chat template. */
export const chatRoute: RouteHandlerOf<typeof completions.routes.chat> = (request) =>
  serve(request, chatJob(request.body));

/** `POST /models/{model}/v1/chat/completions`: the same, for the model the path names. */
export const endpointChatRoute: RouteHandlerOf<typeof completions.routes.endpointChat> = (request) =>
  serve(request, chatJob({ ...request.body, model: request.params.model }));
