import fc from 'fast-check';
import { hostileString, percentEncode } from '../values.ts';
import { opt, type RouteShape, record, text } from './common.ts';

const ORG_OR_NAME = fc.oneof(
  fc.constantFrom('acme', 'Xenova', 'tiny-gpt2', '__proto__', 'constructor', '-x', 'a..b', '%2F', '%00', '%', '%ZZ'),
  hostileString.filter((s) => s.length > 0).map(percentEncode),
);

const sampling = {
  model: fc.constantFrom('tiny-gpt2', 'tiny-gpt2@1', 'tiny-gpt2@prod'),
  max_tokens: fc.integer({ min: 1, max: 8 }),
  temperature: opt(fc.double({ min: 0, max: 2, noNaN: true })),
  top_p: opt(fc.double({ min: 0.01, max: 1, noNaN: true })),
  top_k: opt(fc.integer({ min: 0, max: 50 })),
  n: opt(fc.integer({ min: 1, max: 2 })),
  stop: opt(
    fc.oneof(
      fc.string({ minLength: 1, maxLength: 3 }),
      fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }),
    ),
  ),
  seed: opt(fc.integer()),
  presence_penalty: opt(fc.double({ min: -2, max: 2, noNaN: true })),
  frequency_penalty: opt(fc.double({ min: -2, max: 2, noNaN: true })),
  stream: opt(fc.boolean()),
  stream_options: opt(record({ include_usage: opt(fc.boolean()) })),
  user: opt(fc.string()),
};
const prompt = fc.oneof(text(300), fc.array(text(300), { minLength: 1, maxLength: 2 }));
const message = record({
  role: fc.constantFrom('system', 'developer', 'user', 'assistant'),
  content: fc.oneof(
    text(300),
    fc.array(record({ type: fc.constant('text'), text: text(100) }), { minLength: 1, maxLength: 2 }),
  ),
  name: opt(fc.string({ maxLength: 8 })),
});
const userMessage = record({ role: fc.constant('user'), content: text(300) });

/** The valid shapes of the completions function's routes (functions/completions/routes.ts). */
export const COMPLETIONS_SHAPES: Record<string, RouteShape> = {
  'GET /v1/models': {
    query: fc.oneof(
      fc.constant({}),
      fc.record({
        task: fc.constantFrom('text-classification', 'language-identification', 'translation', 'text-generation'),
      }),
    ),
  },
  'GET /v1/models/{id}': {
    path: fc
      .oneof(
        fc.constantFrom('tiny-gpt2', 'tiny-gpt2@1', 'tiny-gpt2@prod'),
        fc.constantFrom(
          'tiny-gpt2@9',
          'tiny-gpt2@',
          '@',
          'tiny-nllb',
          'lid176',
          'tiny-distilbert-sentiment',
          'gpt-4',
          '__proto__',
          'constructor',
          '%2F',
          '%00',
          '%',
          '%E0%A4%A',
          '%ZZ',
          '%2e%2e',
        ),
        hostileString.filter((s) => s.length > 0).map(percentEncode),
      )
      .map((id) => `/v1/models/${id}`),
  },
  // An import job's status: the job the fuzz test seeds (a failed import, so its status is a
  // 200) or any org/name, and a revision query that may be hostile too.
  'GET /v1/imports/{org}/{name}': {
    path: fc.oneof(
      fc.constant('/v1/imports/Xenova/tiny-gpt2'),
      fc.tuple(ORG_OR_NAME, ORG_OR_NAME).map(([org, name]) => `/v1/imports/${org}/${name}`),
    ),
    query: fc.oneof(
      fc.constant({}),
      fc.record({ revision: fc.oneof(fc.constantFrom('main', 'v1', '..', 'refs/pr/1', ''), hostileString) }),
    ),
  },
  'POST /v1/completions': { body: record({ ...sampling, prompt }) },
  'POST /v1/chat/completions': {
    body: record({
      ...sampling,
      messages: fc.oneof(
        fc.array(message, { minLength: 1, maxLength: 3 }),
        fc.array(userMessage, { minLength: 1, maxLength: 2 }),
      ),
      max_completion_tokens: opt(fc.integer({ min: 1, max: 8 })),
      response_format: opt(fc.constant({ type: 'text' })),
    }),
  },
  'POST /models/{model}/v1/completions': {
    path: fc.constantFrom('/models/tiny-gpt2/v1/completions', '/models/tiny-gpt2@1/v1/completions'),
    body: record({ ...sampling, model: opt(fc.constantFrom('http://localhost/models/tiny-gpt2')), prompt }),
  },
  'POST /models/{model}/v1/chat/completions': {
    path: fc.constant('/models/tiny-gpt2/v1/chat/completions'),
    body: record({
      ...sampling,
      model: opt(fc.constant('tiny-gpt2')),
      messages: fc.array(userMessage, { minLength: 1, maxLength: 2 }),
    }),
  },
  'POST /models/{model}/generate': {
    path: fc.constantFrom('/models/tiny-gpt2/generate', '/models/tiny-gpt2@prod/generate'),
    body: fc.oneof(
      record({ text: text(300), max_length: opt(fc.integer({ min: 1, max: 40 })), stream: opt(fc.boolean()) }),
      record({
        inputs: text(300),
        parameters: opt(
          record({
            max_new_tokens: opt(fc.integer({ min: 1, max: 8 })),
            temperature: opt(fc.double({ min: 0.1, max: 2, noNaN: true })),
            top_p: opt(fc.double({ min: 0.1, max: 1, noNaN: true })),
            do_sample: opt(fc.boolean()),
            stop: opt(fc.array(fc.constantFrom('.', 'the', '\n'), { minLength: 1, maxLength: 2 })),
            seed: opt(fc.integer({ min: 0, max: 1000 })),
            return_full_text: opt(fc.boolean()),
          }),
        ),
        stream: opt(fc.boolean()),
      }),
    ),
  },
};
