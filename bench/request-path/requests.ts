import type { BareInputs } from './bare.ts';

/**
 * What bench/request-path.ts asks of each capability, through the API, to the function's
 * handler in a process of its own (handler-loop.ts) and as bare model work alike: the same
 * input for the same index, a distinct text per index (no result-cache hit).
 */
export const INPUTS: BareInputs = {
  detect: (i) => ({ text: `Bonjour tout le monde, message numéro ${i}.` }),
  predict: (i) => ({ text: `What a lovely day, message number ${i}.` }),
  translate: (i) => ({
    text: `The weather is nice today, message ${i}.`,
    source: 'eng_Latn',
    target: 'fra_Latn',
    maxNewTokens: 20,
  }),
  completions: (i) => ({ prompt: `Once upon a time, story number ${i},`, maxTokens: 16 }),
};

/** Each capability's API request for input `i`: its route and JSON body. */
export const CAPS = {
  detect: (i: number) => ({ path: '/v1/detect', body: INPUTS.detect(i) }),
  predict: (i: number) => ({ path: '/v1/predict', body: INPUTS.predict(i) }),
  translate: (i: number) => {
    const { text, source, target, maxNewTokens } = INPUTS.translate(i);
    return {
      path: '/v1/translate',
      body: { text, source_language: source, target_language: target, max_new_tokens: maxNewTokens },
    };
  },
  completions: (i: number, model = 'tiny-gpt2') => {
    const { prompt, maxTokens } = INPUTS.completions(i);
    return { path: '/v1/completions', body: { model, prompt, max_tokens: maxTokens, temperature: 0 } };
  },
} as const;

export type Cap = keyof typeof CAPS;
