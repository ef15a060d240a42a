import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { argmax, type ChatMessage, type Generator, loadGenerator } from '#tasks/generation/index.ts';

import { BUNDLE, collect, golden, HELLO, LOAD_TIMEOUT_MS, LOGIT_TOLERANCE } from '../../../../helpers/tiny-gpt2.ts';

const textCases = golden.cases.filter((c) => !c.messages);
const chatCases = golden.cases.filter((c) => c.messages);

let generator: Generator;
beforeAll(async () => {
  generator = await loadGenerator(BUNDLE, { dtype: 'fp32' });
}, LOAD_TIMEOUT_MS);
afterAll(async () => {
  await generator?.dispose();
});

describe('golden parity with PyTorch (tiny-gpt2, fp32, greedy, 20 tokens)', () => {
  it.each(textCases.map((c) => [c.prompt, c] as const))('prompt %j', async (_name, c) => {
    // Prepare
    const options = { temperature: 0, maxTokens: golden.max_new_tokens };

    // Act
    const result = await generator.generate(c.prompt, options);

    // Assess
    expect(generator.encode(c.prompt)).toEqual(c.input_ids);
    expect(result.choices[0]?.tokenIds).toEqual(c.new_token_ids);
    expect(result.choices[0]?.text).toBe(c.pipeline_text);
    expect(result.promptTokens).toBe(c.input_ids.length);
  });

  it.each(chatCases.map((c) => [c.messages?.at(-1)?.content, c] as const))('chat ending %j', async (_name, c) => {
    // Prepare
    const messages = c.messages as ChatMessage[];

    // Act
    const result = await generator.chat(messages, { temperature: 0, maxTokens: golden.max_new_tokens });

    // Assess
    expect(generator.renderChat(messages)).toBe(c.prompt);
    expect(generator.encodeChat(messages)).toEqual(c.input_ids);
    expect(result.choices[0]?.tokenIds).toEqual(c.new_token_ids);
    expect(result.choices[0]?.text).toBe(c.pipeline_text);
    expect(result.promptTokens).toBe(c.input_ids.length);
  });

  it.each(golden.cases.map((c) => [c.prompt, c] as const))('first-step logits of %j to 1e-4', async (_name, c) => {
    // Act
    const logits = await generator.nextTokenLogits(c.input_ids);

    // Assess
    expect(logits).toHaveLength(c.first_step_logits.length);
    const maxDiff = c.first_step_logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (logits[i] ?? Number.NaN))), 0);
    expect(maxDiff).toBeLessThan(LOGIT_TOLERANCE);
  });

  it('reads token ids as the prompt, as OpenAI allows', async () => {
    // Act
    const fromIds = await generator.generate(HELLO.input_ids, { temperature: 0, maxTokens: 5 });

    // Assess
    expect(fromIds.choices[0]?.tokenIds).toEqual(HELLO.new_token_ids.slice(0, 5));
    expect(fromIds.promptTokens).toBe(HELLO.input_ids.length);
  });

  it('describes the model', () => {
    // Act
    const info = generator.info();

    // Assess
    expect(info).toEqual({
      modelType: 'gpt2',
      contextLength: 256,
      vocabSize: 2002,
      hasChatTemplate: true,
      eosTokenIds: golden.eos_token_ids,
      bosTokenId: 0,
    });
  });
});

describe('a prompt pass in chunks', () => {
  let chunked: Generator;
  beforeAll(async () => {
    chunked = await loadGenerator(BUNDLE, { prefillChunkTokens: 3 });
  }, LOAD_TIMEOUT_MS);
  afterAll(async () => {
    await chunked?.dispose();
  });

  it.each(golden.cases.map((c) => [c.prompt, c] as const))(
    'gives the golden tokens and logits for %j',
    async (_name, c) => {
      // Act
      const result = await chunked.generate(c.input_ids, { temperature: 0, maxTokens: golden.max_new_tokens });
      const logits = await chunked.nextTokenLogits(c.input_ids);

      // Assess
      expect(result.choices[0]?.tokenIds).toEqual(c.new_token_ids);
      const maxDiff = c.first_step_logits.reduce((m, v, i) => Math.max(m, Math.abs(v - (logits[i] ?? Number.NaN))), 0);
      expect(maxDiff).toBeLessThan(LOGIT_TOLERANCE);
    },
  );
});

describe('sampling', () => {
  const options = { temperature: 1, topP: 0.95, topK: 50, maxTokens: 20 };

  it('gives the same text twice for the same seed, and other text for another seed', async () => {
    // Act
    const a = await generator.generate(HELLO.prompt, { ...options, seed: 1234 });
    const b = await generator.generate(HELLO.prompt, { ...options, seed: 1234 });
    const c = await generator.generate(HELLO.prompt, { ...options, seed: 4321 });

    // Assess
    expect(b.choices).toEqual(a.choices);
    expect(a.seed).toBe(1234);
    expect(c.choices[0]?.text).not.toBe(a.choices[0]?.text);
    expect(a.choices[0]?.tokenIds).not.toEqual(HELLO.new_token_ids); // sampled, not greedy
  });

  it('reports the random seed it chose, which reproduces the text', async () => {
    // Act
    const first = await generator.generate(HELLO.prompt, options);
    const again = await generator.generate(HELLO.prompt, { ...options, seed: first.seed });

    // Assess
    expect(Number.isSafeInteger(first.seed)).toBe(true);
    expect(again.choices).toEqual(first.choices);
  });

  it('returns n choices, each from its own stream, reproducible as a set', async () => {
    // Act
    const a = await generator.generate(HELLO.prompt, { ...options, n: 3, seed: 99 });
    const b = await generator.generate(HELLO.prompt, { ...options, n: 3, seed: 99 });

    // Assess
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(new Set(a.choices.map((c) => c.text)).size).toBe(3);
    expect(b.choices).toEqual(a.choices);
    expect(a.completionTokens).toBe(a.choices.reduce((n, c) => n + c.tokenIds.length, 0));
    expect(a.completionTokens).toBe(60);
  });

  it('decodes each choice exactly as a full decoding of its tokens', async () => {
    // Act
    const result = await generator.generate(HELLO.prompt, {
      ...options,
      temperature: 2,
      topK: 0,
      topP: 1,
      n: 4,
      seed: 5,
    });

    // Assess
    for (const choice of result.choices) expect(choice.text).toBe(generator.decode(choice.tokenIds));
  });
});

describe('stop sequences', () => {
  it('ends generation at a stop sequence from the greedy output and does not return it', async () => {
    // Act
    const result = await generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20, stop: [' hand', 'zzz'] });

    // Assess
    const choice = result.choices[0];
    expect(choice?.text).toBe('fixfixfixfixfix');
    expect(choice?.finishReason).toBe('stop');
    expect(choice?.tokenIds).toEqual(HELLO.new_token_ids.slice(0, 6)); // the stop's own token is generated
    expect(result.completionTokens).toBe(6);
  });

  it('ends on a stop sequence that spans two tokens', async () => {
    // Act: 'fix' + 'fix' holds 'xfi' across the token boundary.
    const result = await generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20, stop: 'xfi' });

    // Assess
    expect(result.choices[0]?.text).toBe('fi');
    expect(result.choices[0]?.finishReason).toBe('stop');
    expect(result.choices[0]?.tokenIds).toEqual([956, 956]);
  });
});

describe('streaming', () => {
  it('streams deltas that join to the final text and tokens, then a last delta with the finish reason', async () => {
    // Act
    const { result, deltas } = await collect((onToken) =>
      generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20 }, onToken),
    );

    // Assess
    expect(deltas.map((d) => d.text).join('')).toBe(HELLO.pipeline_text);
    expect(deltas.flatMap((d) => d.tokenIds)).toEqual(HELLO.new_token_ids);
    expect(deltas.length).toBeGreaterThan(5);
    expect(deltas.at(-1)?.finishReason).toBe('length');
    expect(deltas.slice(0, -1).every((d) => d.finishReason === undefined)).toBe(true);
    expect(result.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(result.timeToFirstTokenMs).toBeLessThanOrEqual(result.durationMs);
  });

  it('never streams the start of a stop sequence that then completes', async () => {
    // Act: ' handinc' spans ' hand' and 'inc'; ' hand' alone must be held back.
    const { result, deltas } = await collect((onToken) =>
      generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20, stop: [' handinc'] }, onToken),
    );

    // Assess
    expect(result.choices[0]?.text).toBe('fixfixfixfixfix');
    expect(deltas.map((d) => d.text).join('')).toBe('fixfixfixfixfix');
    expect(deltas.at(-1)?.finishReason).toBe('stop');
  });

  it('streams every choice of n under its own index', async () => {
    // Act
    const { result, deltas } = await collect((onToken) =>
      generator.generate(HELLO.prompt, { temperature: 1.2, maxTokens: 12, n: 3, seed: 3, stop: ['a'] }, onToken),
    );

    // Assess
    for (const choice of result.choices) {
      const mine = deltas.filter((d) => d.index === choice.index);
      expect(mine.map((d) => d.text).join('')).toBe(choice.text);
      expect(mine.flatMap((d) => d.tokenIds)).toEqual(choice.tokenIds);
      expect(mine.at(-1)?.finishReason).toBe(choice.finishReason);
    }
  });
});

describe('usage and limits', () => {
  it('counts prompt and completion tokens as the tokenizer does', async () => {
    // Prepare
    const prompt = 'Copyright (C) 2007 Free Software Foundation, Inc.';

    // Act
    const result = await generator.generate(prompt, { temperature: 0, maxTokens: 7, n: 2 });

    // Assess
    expect(result.promptTokens).toBe(generator.countTokens(prompt));
    expect(result.promptTokens).toBe(21);
    expect(result.completionTokens).toBe(14);
  });

  it('respects max_tokens and reports finish_reason length', async () => {
    // Act
    const result = await generator.generate(HELLO.prompt, { temperature: 1, maxTokens: 3, seed: 8 });

    // Assess
    expect(result.choices[0]?.tokenIds).toHaveLength(3);
    expect(result.choices[0]?.finishReason).toBe('length');
  });

  it('refuses max_tokens beyond the context window, naming the field', async () => {
    // Act
    const attempt = generator.generate(HELLO.prompt, { maxTokens: 250 });

    // Assess: 8 prompt tokens + 250 > 256
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({ param: 'max_tokens', message: expect.stringContaining('256') });
  });

  it.each([
    [{ temperature: 2.5 }, 'temperature'],
    [{ topP: 0 }, 'top_p'],
    [{ presencePenalty: -3 }, 'presence_penalty'],
    [{ frequencyPenalty: 2.1 }, 'frequency_penalty'],
    [{ n: 0 }, 'n'],
    [{ maxTokens: 1.5 }, 'max_tokens'],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
    [{ topK: -1 }, 'top_k'],
  ])('refuses %j with param %s', async (options, param) => {
    // Act
    const attempt = generator.generate(HELLO.prompt, options);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError', param });
  });

  it('refuses prompt token ids outside the vocabulary', async () => {
    // Act
    const attempt = generator.generate([1, 5000], {});

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError', param: 'prompt' });
  });
});

describe('deadline and abort', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns at once with finish_reason length when the deadline has passed', async () => {
    // Act
    const { result, deltas } = await collect((onToken) =>
      generator.generate(HELLO.prompt, { maxTokens: 20, n: 2, deadline: Date.now() - 1 }, onToken),
    );

    // Assess
    expect(result.choices).toEqual([
      { index: 0, text: '', tokenIds: [], finishReason: 'length' },
      { index: 1, text: '', tokenIds: [], finishReason: 'length' },
    ]);
    expect(result.completionTokens).toBe(0);
    expect(result.timeToFirstTokenMs).toBeNull();
    expect(deltas.map((d) => d.finishReason)).toEqual(['length', 'length']);
  });

  it('stops before the deadline and returns what was generated', async () => {
    // Prepare: only Date is faked; the clock jumps past the deadline after the third token.
    vi.useFakeTimers({ toFake: ['Date'] });
    const deadline = Date.now() + 60_000;
    let tokens = 0;

    // Act
    const result = await generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20, deadline }, (d) => {
      tokens += d.tokenIds.length;
      if (tokens >= 3) vi.setSystemTime(deadline);
    });

    // Assess
    expect(result.choices[0]?.finishReason).toBe('length');
    expect(result.choices[0]?.tokenIds).toEqual(HELLO.new_token_ids.slice(0, 3));
    expect(result.choices[0]?.text).toBe('fixfixfix');
  });

  it('rejects with the abort reason between two steps', async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error('client went away');

    // Act
    const attempt = generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 20, signal: controller.signal }, () =>
      controller.abort(reason),
    );

    // Assess
    await expect(attempt).rejects.toBe(reason);
  });
});

describe('presence and frequency penalties', () => {
  it('change the greedy output', async () => {
    // Act
    const plain = await generator.generate(HELLO.prompt, { temperature: 0, maxTokens: 10 });
    const penalised = await generator.generate(HELLO.prompt, {
      temperature: 0,
      maxTokens: 10,
      frequencyPenalty: 1,
      presencePenalty: 1,
    });

    // Assess: unpenalised, 'fix' (956) repeats five times.
    expect(plain.choices[0]?.tokenIds.slice(0, 5)).toEqual([956, 956, 956, 956, 956]);
    expect(penalised.choices[0]?.tokenIds).not.toEqual(plain.choices[0]?.tokenIds);
  });

  it('match a hand-computed greedy decode: logit[j] -= count[j] * frequency + (count[j] > 0) * presence', async () => {
    // Prepare: recompute every step from the full sequence (no KV cache), penalties by hand.
    const frequency = 0.7;
    const presence = 0.4;
    const steps = 8;
    const expected: number[] = [];
    for (let step = 0; step < steps; step++) {
      const logits = await generator.nextTokenLogits([...HELLO.input_ids, ...expected]);
      const counts = new Map<number, number>();
      for (const t of expected) counts.set(t, (counts.get(t) ?? 0) + 1);
      const penalised = Array.from(logits, (v, j) => {
        const c = counts.get(j) ?? 0;
        return v - c * frequency - (c > 0 ? presence : 0);
      });
      expected.push(argmax(penalised));
    }

    // Act
    const result = await generator.generate(HELLO.prompt, {
      temperature: 0,
      maxTokens: steps,
      frequencyPenalty: frequency,
      presencePenalty: presence,
    });

    // Assess
    expect(result.choices[0]?.tokenIds).toEqual(expected);
    expect(new Set(expected).size).toBeGreaterThan(new Set(HELLO.new_token_ids.slice(0, steps)).size);
  });
});

describe('chat validation', () => {
  it.each([
    [[], 'messages'],
    [[{ role: 'tool', content: 'x' }], 'messages[0].role'],
    [[{ role: 'user', content: 42 }], 'messages[0].content'],
  ])('refuses %j', async (messages, param) => {
    // Act
    const attempt = generator.chat(messages as unknown as ChatMessage[], { maxTokens: 2 });

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError', param });
  });
});
