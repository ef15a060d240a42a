import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ChatMessage, Generator, TokenDelta } from '#tasks/generation/index.ts';

/** The tiny-gpt2 fixture and its PyTorch goldens, shared by the generator's tests. */
export const BUNDLE = path.resolve(import.meta.dirname, '../fixtures/models/tiny-gpt2/1');
export const LOAD_TIMEOUT_MS = 30_000;
export const LOGIT_TOLERANCE = 1e-4; // golden.json: fp32 logits to 1e-4
export const HAND = 1216; // ' hand' in tiny-gpt2's vocabulary

export interface GoldenCase {
  prompt: string;
  messages?: ChatMessage[];
  input_ids: number[];
  new_token_ids: number[];
  pipeline_text: string;
  first_step_logits: number[];
}
export const golden = JSON.parse(readFileSync(path.join(BUNDLE, 'golden.json'), 'utf8')) as {
  max_new_tokens: number;
  eos_token_ids: number[];
  cases: GoldenCase[];
};
// greedy: 'fixfixfixfixfix handincarkvalotototot kfixinc hand hand handfix'
export const HELLO = golden.cases.filter((c) => !c.messages)[0] as GoldenCase;

/** Runs `run` with an `onToken` collector and returns the result and the deltas. */
export const collect = async (
  run: (onToken: (d: TokenDelta) => void) => Promise<Awaited<ReturnType<Generator['generate']>>>,
) => {
  const deltas: TokenDelta[] = [];
  const result = await run((d) => deltas.push(d));
  return { result, deltas };
};
