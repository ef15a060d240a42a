import { bindRoutes, preloadOnProvisioned } from '../bind.ts';
import { chatRoute, endpointChatRoute } from './chat.ts';
import { completionsRoute, endpointCompletionsRoute } from './completions.ts';
import { generateRoute } from './generate.ts';
import { importRoute } from './imports.ts';
import { modelRoute } from './model.ts';
import { modelsRoute } from './models.ts';
import { completions } from './routes.ts';
import { warmDefaultModel } from './serve.ts';

/** OpenAI-compatible text generation: one response-streaming function, OpenAI error shapes. */
export const handler = bindRoutes(completions, {
  models: modelsRoute,
  model: modelRoute,
  imports: importRoute,
  completions: completionsRoute,
  chat: chatRoute,
  endpointCompletions: endpointCompletionsRoute,
  endpointChat: endpointChatRoute,
  generate: generateRoute,
});

// Provisioned concurrency: the default model is in memory before the first request.
await preloadOnProvisioned(warmDefaultModel);
