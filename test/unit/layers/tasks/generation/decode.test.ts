import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '#runtime/errors.ts';
import { decodeLoop, type StepModel } from '#tasks/generation/decode.ts';
import { resolveOptions } from '#tasks/generation/options.ts';
import {
  constant,
  cycle,
  decode,
  drift,
  EOS,
  endsAfterC,
  fakeModel,
  generate,
  NEVER,
  PROMPT,
  replay,
} from '../../../../helpers/fake-step-model.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('greedy decoding', () => {
  it('takes the most likely token each step, feeding each step the previous token at the next position', async () => {
    // Prepare
    const { model, calls } = fakeModel(cycle);

    // Act
    const { result } = await generate(model, { temperature: 0, maxTokens: 5 });

    // Assess
    expect(result.choices).toEqual([{ index: 0, text: 'bcdef', tokenIds: [2, 3, 4, 5, 6], finishReason: 'length' }]);
    expect(result.promptTokens).toBe(3);
    expect(result.completionTokens).toBe(5);
    expect(calls.map((c) => [c.kind, c.pastLength])).toEqual([
      ['prefill', 0],
      ['step', 3],
      ['step', 4],
      ['step', 5],
      ['step', 6],
    ]);
  });

  it('ends on an end-of-sequence token with stop, counting it but never showing it', async () => {
    // Prepare
    const { model } = fakeModel(endsAfterC);

    // Act
    const { result, deltas } = await generate(model, { temperature: 0, maxTokens: 10 }, { promptIds: [1] });

    // Assess
    expect(result.choices[0]).toEqual({ index: 0, text: 'bc', tokenIds: [2, 3, EOS], finishReason: 'stop' });
    expect(result.completionTokens).toBe(3);
    expect(deltas.at(-1)).toEqual({ index: 0, text: '', tokenIds: [EOS], finishReason: 'stop' });
  });

  it('goes on past end-of-sequence tokens with ignoreEos', async () => {
    // Prepare
    const { model } = fakeModel(endsAfterC);

    // Act
    const { result } = await generate(model, { temperature: 0, maxTokens: 5, ignoreEos: true }, { promptIds: [1] });

    // Assess
    expect(result.choices[0]).toEqual({ index: 0, text: 'bcab', tokenIds: [2, 3, EOS, 1, 2], finishReason: 'length' });
  });

  it('does what the TSDoc example says', async () => {
    // Prepare
    const model: StepModel<null> = {
      prefill: async () => ({ logits: [Float32Array.of(0, 1, 0)], cache: null }),
      step: async ({ tokens }) => ({ logits: tokens.map(() => Float32Array.of(0, 0, 1)), cache: null }),
    };

    // Act
    const result = await decodeLoop(model, {
      promptIds: [0],
      promptParam: 'prompt',
      contextLength: 16,
      eosTokenIds: new Set([2]),
      decode: (ids) => ids.join(','),
      options: resolveOptions({ temperature: 0 }),
    });

    // Assess
    expect(result.choices).toEqual([{ index: 0, text: '1', tokenIds: [1, 2], finishReason: 'stop' }]);
  });
});

describe('seeded sampling', () => {
  const options = { temperature: 1, maxTokens: 12, ignoreEos: true };

  it('gives the same choices for the same seed and other choices for another seed', async () => {
    // Act
    const a = await generate(fakeModel(drift).model, { ...options, seed: 42 });
    const b = await generate(fakeModel(drift).model, { ...options, seed: 42 });
    const c = await generate(fakeModel(drift).model, { ...options, seed: 43 });

    // Assess
    expect(b.result.choices).toEqual(a.result.choices);
    expect(a.result.seed).toBe(42);
    expect(c.result.choices[0]?.tokenIds).not.toEqual(a.result.choices[0]?.tokenIds);
  });

  it('draws each choice from its own history with its own random stream', async () => {
    // Prepare: temperature 0.5 changes logits in place, so choices sharing the prompt pass need their own copy.
    const settings = { temperature: 0.5, topK: 0, topP: 1 };
    const seeds = [0, 1, 2, 3, 4, 5, 6, 7];

    // Act
    const runs = await Promise.all(
      seeds.map((seed) => generate(fakeModel(drift).model, { ...options, temperature: 0.5, n: 3, seed })),
    );
    const alone = await generate(fakeModel(drift).model, { ...options, temperature: 0.5, n: 1, seed: 7 });

    // Assess
    runs.forEach(({ result }, i) => {
      for (const choice of result.choices) {
        expect(choice.tokenIds).toEqual(replay(drift, settings, seeds[i] as number, choice.index, choice.tokenIds));
      }
    });
    const last = runs.at(-1)?.result;
    expect(alone.result.choices[0]).toEqual(last?.choices[0]);
    expect(new Set(last?.choices.map((c) => c.text)).size).toBe(3);
  });

  it('keeps only the top-k tokens', async () => {
    // Prepare: tokens 1 and 2 lead; the five others share about 12% of the mass.
    const logits = constant([NEVER, 3, 2.9, 0, 0, 0, 0, 0]);
    const draw = async (topK: number) => {
      const tokens = new Set<number>();
      for (let seed = 0; seed < 20; seed++) {
        const { result } = await generate(fakeModel(logits).model, { ...options, topK, seed });
        for (const t of result.choices[0]?.tokenIds ?? []) tokens.add(t);
      }
      return tokens;
    };

    // Act
    const topTwo = await draw(2);
    const all = await draw(0);

    // Assess
    expect([...topTwo].sort()).toEqual([1, 2]);
    expect(all.size).toBeGreaterThan(2);
  });

  it('keeps only the nucleus of top-p', async () => {
    // Prepare: probabilities 0.5, 0.3, 0.15, 0.05; top_p 0.79 keeps the first two (0.8).
    const logits = constant([NEVER, Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05), NEVER, NEVER, NEVER]);
    const draw = async (topP: number) => {
      const tokens = new Set<number>();
      for (let seed = 0; seed < 20; seed++) {
        const { result } = await generate(fakeModel(logits).model, { ...options, topP, seed });
        for (const t of result.choices[0]?.tokenIds ?? []) tokens.add(t);
      }
      return tokens;
    };

    // Act
    const nucleus = await draw(0.79);
    const all = await draw(1);

    // Assess
    expect([...nucleus].sort()).toEqual([1, 2]);
    expect([...all].sort()).toEqual([1, 2, 3, 4]);
  });
});

describe('presence and frequency penalties', () => {
  it('follow logit[j] -= count[j] * frequency + (count[j] > 0) * presence over the completion only', async () => {
    // Prepare: the prompt repeats token 1, which must not count; penalties by hand.
    const base = [NEVER, 3, 2.5, 1.25, 0, 0, 0, 0]; // no ties along the way: float32 and float64 agree
    const frequency = 0.4;
    const presence = 0.3;
    const steps = 10;
    const expected: number[] = [];
    for (let step = 0; step < steps; step++) {
      const penalised = base.map((v, j) => {
        const count = expected.filter((t) => t === j).length;
        return v - count * frequency - (count > 0 ? presence : 0);
      });
      expected.push(penalised.indexOf(Math.max(...penalised)));
    }

    // Act
    const { result } = await generate(fakeModel(constant(base)).model, {
      temperature: 0,
      maxTokens: steps,
      frequencyPenalty: frequency,
      presencePenalty: presence,
    });

    // Assess
    expect(result.choices[0]?.tokenIds).toEqual(expected);
    expect(expected[0]).toBe(1);
    expect(new Set(expected)).toEqual(new Set([1, 2, 3]));
  });
});

describe('stop sequences', () => {
  it('ends before a stop sequence, never returns it, and holds back its start while streaming', async () => {
    // Prepare: greedy gives 'b' 'c' 'd'; 'c' may start "cd" and must not be streamed.
    const { model } = fakeModel(cycle);

    // Act
    const { result, deltas } = await generate(model, { temperature: 0, maxTokens: 10, stop: 'cd' }, { promptIds: [1] });

    // Assess
    expect(result.choices[0]).toEqual({ index: 0, text: 'b', tokenIds: [2, 3, 4], finishReason: 'stop' });
    expect(deltas).toEqual([
      { index: 0, text: 'b', tokenIds: [2] },
      { index: 0, text: '', tokenIds: [3, 4], finishReason: 'stop' },
    ]);
  });

  it('releases held-back text with its tokens once it cannot start the stop sequence', async () => {
    // Prepare: 'c' may start "ce"; 'd' rules it out.
    const { model } = fakeModel(cycle);

    // Act
    const { result, deltas } = await generate(model, { temperature: 0, maxTokens: 4, stop: 'ce' }, { promptIds: [1] });

    // Assess
    expect(result.choices[0]).toEqual({ index: 0, text: 'bcde', tokenIds: [2, 3, 4, 5], finishReason: 'length' });
    expect(deltas).toEqual([
      { index: 0, text: 'b', tokenIds: [2] },
      { index: 0, text: 'cd', tokenIds: [3, 4] },
      { index: 0, text: 'e', tokenIds: [5], finishReason: 'length' },
    ]);
  });
});

describe('length limits', () => {
  it('stops at max_tokens with length and runs no step after the last token', async () => {
    // Prepare
    const { model, calls } = fakeModel(cycle);

    // Act
    const { result, deltas } = await generate(model, { temperature: 0, maxTokens: 3 });

    // Assess
    expect(result.choices[0]?.tokenIds).toHaveLength(3);
    expect(result.choices[0]?.finishReason).toBe('length');
    expect(deltas.at(-1)?.finishReason).toBe('length');
    expect(calls).toHaveLength(3); // the prompt pass and two steps
  });

  it('fills the rest of the context window when max_tokens is absent', async () => {
    // Act
    const { result } = await generate(fakeModel(cycle).model, { temperature: 0 }, { contextLength: 8 });

    // Assess: 8 - 3 prompt tokens
    expect(result.choices[0]?.tokenIds).toHaveLength(5);
    expect(result.choices[0]?.finishReason).toBe('length');
  });

  it.each([
    [{ maxTokens: 6 }, 8, 'max_tokens'],
    [{}, 3, 'prompt'],
  ])('refuses %j in a context of %i tokens before the model runs (param %s)', async (options, contextLength, param) => {
    // Prepare
    const { model, calls } = fakeModel(cycle);

    // Act
    const attempt = generate(model, options, { contextLength });

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({ param });
    expect(calls).toEqual([]);
  });
});

describe('deadline', () => {
  it('answers at once with length for every choice when the deadline has passed', async () => {
    // Prepare
    const { model, calls } = fakeModel(cycle);

    // Act
    const { result, deltas } = await generate(model, { maxTokens: 5, n: 2, deadline: Date.now() - 1 });

    // Assess
    expect(result.choices).toEqual([
      { index: 0, text: '', tokenIds: [], finishReason: 'length' },
      { index: 1, text: '', tokenIds: [], finishReason: 'length' },
    ]);
    expect(result.timeToFirstTokenMs).toBeNull();
    expect(deltas).toEqual([
      { index: 0, text: '', tokenIds: [], finishReason: 'length' },
      { index: 1, text: '', tokenIds: [], finishReason: 'length' },
    ]);
    expect(calls).toEqual([]);
  });

  it('stops with length once the deadline is reached and returns what was generated', async () => {
    // Prepare: only Date is faked; the clock jumps to the deadline during the third model call.
    vi.useFakeTimers({ toFake: ['Date'] });
    const deadline = Date.now() + 60_000;
    const { model, calls } = fakeModel(cycle, (c) => {
      if (c.length === 3) vi.setSystemTime(deadline);
    });

    // Act
    const { result, deltas } = await generate(model, { temperature: 0, maxTokens: 10, deadline });

    // Assess
    expect(result.choices[0]).toEqual({ index: 0, text: 'bcd', tokenIds: [2, 3, 4], finishReason: 'length' });
    expect(deltas.at(-1)?.finishReason).toBe('length');
    expect(calls).toHaveLength(3);
  });

  it('does not start a step that the last step says would end past the deadline', async () => {
    // Prepare: every model call takes 100 ms of a fake clock; the deadline is 250 ms away.
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    const deadline = Date.now() + 250;
    const { model, calls } = fakeModel(cycle, () => {
      vi.advanceTimersByTime(100);
    });

    // Act
    const { result } = await generate(model, { temperature: 0, maxTokens: 10, deadline });

    // Assess: at 200 ms a third call would end at 300 ms.
    expect(result.choices[0]?.tokenIds).toEqual([2, 3]);
    expect(result.choices[0]?.finishReason).toBe('length');
    expect(calls).toHaveLength(2);
    expect(result.timeToFirstTokenMs).toBe(100);
    expect(result.durationMs).toBe(200);
  });
});

describe('abort signal', () => {
  it('rejects with the reason before the prompt pass when already aborted', async () => {
    // Prepare
    const { model, calls } = fakeModel(cycle);
    const reason = new Error('gone before we started');

    // Act
    const attempt = generate(model, { maxTokens: 5, signal: AbortSignal.abort(reason) });

    // Assess
    await expect(attempt).rejects.toBe(reason);
    expect(calls).toEqual([]);
  });

  it('rejects with the reason before the next step when aborted while streaming', async () => {
    // Prepare
    const controller = new AbortController();
    const reason = new Error('client went away');
    const { model, calls } = fakeModel(cycle);

    // Act
    const attempt = decodeLoop(model, {
      promptIds: PROMPT,
      promptParam: 'prompt',
      contextLength: 64,
      eosTokenIds: new Set([EOS]),
      decode,
      options: resolveOptions({ temperature: 0, maxTokens: 10, signal: controller.signal }),
      onToken: () => controller.abort(reason),
    });

    // Assess
    await expect(attempt).rejects.toBe(reason);
    expect(calls.map((c) => c.kind)).toEqual(['prefill']);
  });

  it('stops within one step when aborted during a step, and hands the signal to every call', async () => {
    // Prepare
    const controller = new AbortController();
    const { model, calls } = fakeModel(cycle, (c) => {
      if (c.length === 2) controller.abort(new Error('timeout'));
    });

    // Act
    const attempt = generate(model, { temperature: 0, maxTokens: 10, signal: controller.signal });

    // Assess
    await expect(attempt).rejects.toThrow('timeout');
    expect(calls.map((c) => c.kind)).toEqual(['prefill', 'step']);
    expect(calls.every((c) => c.signal === controller.signal)).toBe(true);
  });
});

describe('n choices', () => {
  it('shares one prompt pass, decodes the choices as one batch and drops finished ones', async () => {
    // Prepare: seed 3 makes the choices end at different steps.
    const { model, calls } = fakeModel(drift);

    // Act
    const { result } = await generate(model, { temperature: 1, maxTokens: 8, n: 3, seed: 3 });

    // Assess
    const settings = { temperature: 1, topK: 0, topP: 1 };
    expect(result.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (const choice of result.choices) {
      expect(choice.tokenIds).toEqual(replay(drift, settings, 3, choice.index, choice.tokenIds));
    }
    const rows = calls.map((c) => c.rows);
    expect(calls.filter((c) => c.kind === 'prefill')).toHaveLength(1);
    expect(rows[1]).toBe(3);
    expect(rows.slice(1).every((r, i) => i === 0 || r <= (rows[i] as number))).toBe(true);
    expect(Math.min(...rows.slice(1))).toBeLessThan(3);
    expect(result.completionTokens).toBe(result.choices.reduce((n, c) => n + c.tokenIds.length, 0));
  });

  it('streams step by step in choice order, each choice ending with its finish reason', async () => {
    // Act
    const { result, deltas } = await generate(fakeModel(cycle).model, { temperature: 0, maxTokens: 3, n: 2 });

    // Assess
    expect(deltas).toEqual([
      { index: 0, text: 'b', tokenIds: [2] },
      { index: 1, text: 'b', tokenIds: [2] },
      { index: 0, text: 'c', tokenIds: [3] },
      { index: 1, text: 'c', tokenIds: [3] },
      { index: 0, text: 'd', tokenIds: [4], finishReason: 'length' },
      { index: 1, text: 'd', tokenIds: [4], finishReason: 'length' },
    ]);
    for (const choice of result.choices) {
      const mine = deltas.filter((d) => d.index === choice.index);
      expect(mine.map((d) => d.text).join('')).toBe(choice.text);
      expect(mine.flatMap((d) => d.tokenIds)).toEqual(choice.tokenIds);
    }
    expect(result.completionTokens).toBe(6);
  });
});
