import { describe, expect, it } from 'vitest';
import { applyPenalties, argmax, createRng, sampleToken } from '#tasks/generation/index.ts';
import { GREEDY_BELOW_TEMPERATURE, nucleusFloor } from '#tasks/generation/sampling.ts';

const GREEDY = { temperature: 0, topK: 0, topP: 1 };
const DRAWS = 20_000;

/** Frequencies of `sampleToken` over many draws from one stream. */
const frequencies = (logits: number[], settings: typeof GREEDY, seed = 1): number[] => {
  const rng = createRng(seed);
  const counts = logits.map(() => 0);
  for (let i = 0; i < DRAWS; i++) {
    const token = sampleToken(Float32Array.from(logits), settings, rng);
    counts[token] = (counts[token] ?? 0) + 1;
  }
  return counts.map((c) => c / DRAWS);
};

describe('createRng', () => {
  it('gives the same stream for the same seed and stream index', () => {
    // Prepare
    const a = createRng(42, 1);
    const b = createRng(42, 1);

    // Act
    const first = Array.from({ length: 5 }, () => a());
    const second = Array.from({ length: 5 }, () => b());

    // Assess
    expect(first).toEqual(second);
  });

  it('gives different streams for different seeds, stream indexes and high seed bits', () => {
    // Prepare
    const draws = (rng: () => number) => Array.from({ length: 3 }, () => rng());

    // Act
    const base = draws(createRng(42, 0));
    const otherSeed = draws(createRng(43, 0));
    const otherStream = draws(createRng(42, 1));
    const highBits = draws(createRng(42 + 2 ** 32, 0));

    // Assess
    expect(otherSeed).not.toEqual(base);
    expect(otherStream).not.toEqual(base);
    expect(highBits).not.toEqual(base);
  });

  it('draws uniformly from [0, 1)', () => {
    // Prepare
    const rng = createRng(7);

    // Act
    const values = Array.from({ length: DRAWS }, () => rng());

    // Assess
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(mean).toBeCloseTo(0.5, 2);
  });
});

describe('applyPenalties (OpenAI semantics)', () => {
  it('subtracts count * frequency + presence from every seen token, and nothing else', () => {
    // Prepare
    const logits = Float32Array.of(1, 2, 3, 4);
    const counts = new Map([
      [1, 1],
      [3, 3],
    ]);

    // Act
    applyPenalties(logits, counts, 0.5, 0.25);

    // Assess: 2 - (1 * 0.25 + 0.5) = 1.25; 4 - (3 * 0.25 + 0.5) = 2.75
    expect(Array.from(logits)).toEqual([1, 1.25, 3, 2.75]);
  });

  it('raises seen tokens with negative penalties', () => {
    // Prepare
    const logits = Float32Array.of(0, 0);

    // Act
    applyPenalties(logits, new Map([[0, 2]]), -1, -0.5);

    // Assess: 0 - (2 * -0.5 + -1) = 2
    expect(Array.from(logits)).toEqual([2, 0]);
  });
});

describe('sampleToken', () => {
  it('is argmax at temperature 0, whatever the random stream', () => {
    // Prepare
    const logits = [0.1, 3, 2.9, -1];

    // Act
    const token = sampleToken(Float32Array.from(logits), GREEDY, () => 0.999);

    // Assess
    expect(token).toBe(1);
    expect(argmax(logits)).toBe(1);
  });

  it('samples in proportion to softmax(logits / temperature)', () => {
    // Prepare: probabilities 0.25 and 0.75 at temperature 1; at temperature 2, 1 : sqrt(3).
    const logits = [0, Math.log(3)];

    // Act
    const t1 = frequencies(logits, { temperature: 1, topK: 0, topP: 1 });
    const t2 = frequencies(logits, { temperature: 2, topK: 0, topP: 1 });

    // Assess
    expect(t1[1]).toBeCloseTo(0.75, 1);
    expect(t2[1]).toBeCloseTo(Math.sqrt(3) / (1 + Math.sqrt(3)), 1);
  });

  it('keeps only the top-k logits', () => {
    // Prepare
    const logits = [1, 1, 1, 5, 4];

    // Act
    const freq = frequencies(logits, { temperature: 1.5, topK: 2, topP: 1 });

    // Assess
    expect(freq.slice(0, 3)).toEqual([0, 0, 0]);
    expect(freq[3]).toBeGreaterThan(freq[4] ?? 1);
    expect(freq[4]).toBeGreaterThan(0);
  });

  it('keeps the nucleus: the most likely tokens until their mass reaches top_p', () => {
    // Prepare: probabilities 0.5, 0.3, 0.15, 0.05. top_p 0.79 keeps {0.5, 0.3}: the mass above
    // 0.3 is 0.5 < 0.79, the mass above 0.15 is 0.8 >= 0.79. top_p 0.81 also keeps 0.15.
    const logits = [0.5, 0.3, 0.15, 0.05].map(Math.log);

    // Act
    const freq = frequencies(logits, { temperature: 1, topK: 0, topP: 0.79 });
    const justAbove = frequencies(logits, { temperature: 1, topK: 0, topP: 0.81 });

    // Assess: renormalised 0.5 / 0.8 = 0.625 and 0.375
    expect(freq[2]! + freq[3]!).toBe(0);
    expect(freq[0]).toBeCloseTo(0.625, 1);
    expect(justAbove[2]).toBeGreaterThan(0);
    expect(justAbove[3]).toBe(0);
  });

  it('applies top-k before top-p (Hugging Face order)', () => {
    // Prepare: after top_k 2 the mass is 0.625 / 0.375; top_p 0.6 then keeps the first token only.
    const logits = [0.5, 0.3, 0.2].map(Math.log);

    // Act
    const freq = frequencies(logits, { temperature: 1, topK: 2, topP: 0.6 });

    // Assess
    expect(freq[0]).toBe(1);
  });

  it('draws the same tokens from the same seed', () => {
    // Prepare
    const logits = Array.from({ length: 50 }, (_, i) => Math.sin(i));
    const run = (seed: number) => {
      const rng = createRng(seed);
      return Array.from({ length: 20 }, () =>
        sampleToken(Float32Array.from(logits), { temperature: 1, topK: 0, topP: 0.9 }, rng),
      );
    };

    // Act
    const a = run(11);
    const b = run(11);
    const c = run(12);

    // Assess
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });
});

describe('nucleusFloor', () => {
  /** The definition, by sorting: walk down from the most likely token while the mass above is below the target. */
  const bruteForce = (weights: Float32Array, topP: number): number => {
    const total = weights.reduce((a, b) => a + b, 0);
    const sorted = [...weights].sort((a, b) => b - a);
    let above = 0;
    let floor = 0;
    for (const w of sorted) {
      floor = w;
      above += w;
      if (above >= topP * total) break;
    }
    return floor;
  };

  it.each([0.1, 0.5, 0.9, 0.95, 0.999])('equals the sort-based definition at top_p %s', (topP) => {
    // Prepare: 5000 logits spread over 40 nats (several buckets, an overflow bucket) with ties.
    const rng = createRng(21);
    const logits = Float32Array.from({ length: 5000 }, () => Math.round((rng() * 40 - 30) * 8) / 8);
    const max = Math.max(...logits);
    const weights = logits.map((l) => Math.exp(l - max));
    const total = weights.reduce((a, b) => a + b, 0);

    // Act
    const floor = nucleusFloor(weights, logits, max, total, topP);

    // Assess
    expect(floor).toBe(bruteForce(weights, topP));
  });
});

describe('sampleToken at tiny temperatures', () => {
  it('picks the top token for every temperature from 1e-45 to 1e-4, never an arbitrary one', () => {
    const temperatures = [1e-45, 1e-40, 1e-30, 1e-20, 1e-10, 1e-6, 1e-4];

    const picked = temperatures.flatMap((temperature) => [
      sampleToken(Float32Array.of(-3, 5.5, 1, 5.4999, -1e30), { temperature, topK: 0, topP: 1 }, createRng(1)),
      sampleToken(Float32Array.of(-3, 5.5, 1), { temperature, topK: 0, topP: 0.9 }, createRng(1)),
    ]);

    expect(picked).toEqual(temperatures.flatMap(() => [1, 1]));
  });

  it('still samples at a small temperature above the greedy threshold, from the float32 logits it stored', () => {
    const draws = Array.from({ length: 200 }, (_, i) =>
      sampleToken(
        Float32Array.of(0, 1e-3, 0),
        { temperature: GREEDY_BELOW_TEMPERATURE, topK: 0, topP: 1 },
        createRng(i),
      ),
    );

    expect(new Set(draws)).toEqual(new Set([0, 1, 2]));
  });
});
