import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ModelUnavailableError, ValidationError } from '#runtime/errors.ts';
import type { ModelRuntime } from '#runtime/models.ts';
import {
  ensembleWeights,
  hardVote,
  type MemberVote,
  predictEnsemble,
  softVote,
} from '#tasks/classification/ensemble.ts';
import type { PredictOutcome } from '#tasks/classification/predict.ts';

const DIGITS = 12;
const LABELS = ['NEGATIVE', 'POSITIVE'];

interface Golden {
  cases: Array<{ text: string; label: string; scores: Record<string, number> }>;
}
const golden = (version: string): Golden =>
  JSON.parse(readFileSync(`test/fixtures/models/tiny-distilbert-sentiment/${version}/golden.json`, 'utf8')) as Golden;
const v1 = golden('1');
const v2 = golden('2');

/** The member vote of one golden case, scores ranked highest first as the classifier returns them. */
const vote = (g: Golden, text: string, weight = 1): MemberVote => {
  const c = g.cases.find((x) => x.text === text)!;
  const scores = Object.entries(c.scores)
    .map(([label, score]) => ({ label, score }))
    .sort((a, b) => b.score - a.score);
  return { weight, scores };
};

const LOVE = 'I love this product, it works perfectly!';
const OK = 'ok';
const WORST = 'This is the worst experience I have ever had.';

describe('soft voting (weighted average of probabilities)', () => {
  it('averages the two versions equally: v1 says POSITIVE 0.7579, v2 NEGATIVE 0.7364 → POSITIVE 0.5107', () => {
    // Prepare: golden scores of "I love this product…": v1 NEG 0.24209834577478387 / POS 0.757901654225216,
    // v2 NEG 0.7364438030242835 / POS 0.26355619697571653.
    const votes = [vote(v1, LOVE), vote(v2, LOVE)];

    // Act
    const out = softVote(LABELS, votes);

    // Assess: hand-computed averages.
    expect(out.label).toBe('POSITIVE');
    expect(out.score).toBeCloseTo((0.757901654225216 + 0.26355619697571653) / 2, DIGITS); // 0.5107289256
    expect(out.scores[1]!).toEqual({ label: 'NEGATIVE', score: expect.any(Number) });
    expect(out.scores[1]!.score).toBeCloseTo((0.24209834577478387 + 0.7364438030242835) / 2, DIGITS); // 0.4892710744
  });

  it('weights 1:3 tip the same text to v2’s NEGATIVE (0.6129)', () => {
    const out = softVote(LABELS, [vote(v1, LOVE, 1), vote(v2, LOVE, 3)]);

    expect(out.label).toBe('NEGATIVE');
    expect(out.score).toBeCloseTo((0.24209834577478387 + 3 * 0.7364438030242835) / 4, DIGITS); // 0.6128574387
  });

  it('agrees with both members when they agree ("worst experience": NEGATIVE 0.5731 from both)', () => {
    const out = softVote(LABELS, [vote(v1, WORST), vote(v2, WORST)]);

    expect(out.label).toBe('NEGATIVE');
    expect(out.score).toBeCloseTo((0.573038750824514 + 0.5731667717602054) / 2, DIGITS);
  });
});

describe('hard voting (weighted majority of top labels)', () => {
  it('breaks a 1–1 tie by the higher average probability ("ok": v1 NEGATIVE, v2 POSITIVE → POSITIVE)', () => {
    // Prepare: average NEGATIVE (0.5213184969797355 + 0.3379443532782335) / 2 = 0.4296,
    // average POSITIVE (0.47868150302026446 + 0.6620556467217664) / 2 = 0.5704.
    const votes = [vote(v1, OK), vote(v2, OK)];

    const out = hardVote(LABELS, votes);

    expect(out).toMatchObject({ label: 'POSITIVE', score: 0.5, tieBroken: true });
    expect(out.scores).toEqual([
      { label: 'POSITIVE', score: 0.5 },
      { label: 'NEGATIVE', score: 0.5 },
    ]);
  });

  it('lets the heavier member win without a tie (weights 2:1 on "ok" → v1’s NEGATIVE, share 2/3)', () => {
    const out = hardVote(LABELS, [vote(v1, OK, 2), vote(v2, OK, 1)]);

    expect(out.label).toBe('NEGATIVE');
    expect(out.score).toBeCloseTo(2 / 3, DIGITS);
    expect(out.tieBroken).toBe(false);
  });

  it('counts a unanimous vote as share 1 ("worst experience")', () => {
    const out = hardVote(LABELS, [vote(v1, WORST), vote(v2, WORST), vote(v1, WORST, 0.5)]);

    expect(out).toMatchObject({ label: 'NEGATIVE', score: 1, tieBroken: false });
  });

  it('ignores members with weight 0', () => {
    const out = hardVote(LABELS, [vote(v1, LOVE, 0), vote(v2, LOVE, 1)]);

    expect(out).toMatchObject({ label: 'NEGATIVE', score: 1 });
  });
});

describe('ensembleWeights validates the ensemble shape', () => {
  it.each([
    [['a'], undefined, /2 to 5 model references \(got 1\)/],
    [['a', 'b', 'c', 'd', 'e', 'f'], undefined, /2 to 5 model references \(got 6\)/],
    [['a', 'b'], [1], /one weight per member \(2 members, 1 weights\)/],
    [['a', 'b'], [1, -1], /finite number ≥ 0/],
    [['a', 'b'], [0, 0], /at least one weight must be above 0/],
    [['a', 'b'], [1e308, 1e308], /sum to a finite number/],
  ])('%j with weights %j is a 400', (members, weights, message) => {
    expect(() => ensembleWeights(members, weights)).toThrow(ValidationError);
    expect(() => ensembleWeights(members, weights)).toThrow(message);
  });

  it('defaults to equal weights', () => {
    expect(ensembleWeights(['a', 'b', 'c'], undefined)).toEqual([1, 1, 1]);
  });
});

describe('predictEnsemble', () => {
  /** A registry that knows m@1, m@2 (labels NEGATIVE/POSITIVE) and m@3 (labels A/B). */
  const runtime = {
    registry: {
      resolve: async (ref: string) => ({ name: 'm', version: ref.split('@')[1]!, canary: false }),
      manifest: async (_name: string, version: string) => ({
        task: 'text-classification',
        labels: version === '3' ? ['A', 'B'] : LABELS,
      }),
    },
  } as unknown as ModelRuntime;
  /** Members answer with the golden scores of v1 or v2 for LOVE; `fail` lists members that throw. */
  const classify = (fail: string[]) => async (ref: string) => {
    if (fail.includes(ref)) throw new ModelUnavailableError(`Model ${ref} could not be loaded; retry shortly.`);
    const v = ref.endsWith('@1') ? v1 : v2;
    const { scores } = vote(v, LOVE);
    return {
      model: { name: 'm', version: ref.split('@')[1]!, canary: false },
      results: [{ label: scores[0]!.label, score: scores[0]!.score, scores, cached: false, source: 'inference' }],
      inferenceMs: 1,
      latencyMs: 1,
    } satisfies PredictOutcome;
  };

  it('leaves out a failing member and combines the rest', async () => {
    const out = await predictEnsemble(
      runtime,
      { members: ['m@1', 'm@x', 'm@2'], method: 'soft' },
      [LOVE],
      classify(['m@x']),
    );

    expect(out.excluded).toEqual([
      { model: { name: 'm', version: 'x' }, reason: 'Model m@x could not be loaded; retry shortly.' },
    ]);
    expect(out.results[0]!.score).toBeCloseTo((0.757901654225216 + 0.26355619697571653) / 2, DIGITS);
  });

  it('is a 503 when no member with a weight above 0 answers', async () => {
    const run = predictEnsemble(
      runtime,
      { members: ['m@1', 'm@2'], method: 'hard', weights: [0, 1] },
      [LOVE],
      classify(['m@2']),
    );

    await expect(run).rejects.toBeInstanceOf(ModelUnavailableError);
  });

  /** An ensemble of m@1 and m@2 under `signal`; `onMember` runs as each member starts; returns the run and the members started. */
  const ensembleUnder = (signal: AbortSignal, onMember: (ref: string) => void = () => undefined) => {
    const calls: string[] = [];
    const run = predictEnsemble(
      runtime,
      { members: ['m@1', 'm@2'], method: 'soft' },
      [LOVE],
      async (ref) => {
        calls.push(ref);
        onMember(ref);
        return classify([])(ref);
      },
      signal,
    );
    return { run, calls };
  };

  it("ends with the signal's reason when it fires during the members, not with the members that finished", async () => {
    const stop = new AbortController();
    const reason = new Error('the client went away');

    // The first member finishes; the second is stopped by the signal (as classify's mini-batch check does).
    const { run, calls } = ensembleUnder(stop.signal, (ref) => {
      if (ref !== 'm@2') return;
      stop.abort(reason);
      throw reason;
    });

    await expect(run).rejects.toBe(reason);
    expect(calls).toEqual(['m@1', 'm@2']);
  });

  it('starts no member once its signal has fired', async () => {
    const stop = new AbortController();
    stop.abort(new Error('late'));

    const { run, calls } = ensembleUnder(stop.signal);

    await expect(run).rejects.toThrow('late');
    expect(calls).toEqual([]);
  });

  it('refuses members with another label set before running any', async () => {
    const calls: string[] = [];

    const run = predictEnsemble(runtime, { members: ['m@1', 'm@3'], method: 'soft' }, [LOVE], async (ref) => {
      calls.push(ref);
      return classify([])(ref);
    });

    await expect(run).rejects.toThrow(/ensemble.members\[1\]: m@3 has labels \["A", "B"\]/);
    expect(calls).toEqual([]);
  });
});

describe('ensembles on hostile input', () => {
  const votes = (w1: number, w2: number): MemberVote[] => [
    {
      weight: w1,
      scores: [
        { label: 'POSITIVE', score: 0.8 },
        { label: 'NEGATIVE', score: 0.2 },
      ],
    },
    {
      weight: w2,
      scores: [
        { label: 'NEGATIVE', score: 0.6 },
        { label: 'POSITIVE', score: 0.4 },
      ],
    },
  ];

  it('gives subnormal weights the result of their ratio, as normal weights would', () => {
    const labels = ['NEGATIVE', 'POSITIVE'];

    expect(softVote(labels, votes(5e-324, 0))).toEqual(softVote(labels, votes(1, 0)));
    expect(hardVote(labels, votes(0, 5e-324))).toEqual(hardVote(labels, votes(0, 1)));
    expect(softVote(labels, votes(1e-310, 1e-310))).toEqual(softVote(labels, votes(1, 1)));
  });

  it('refuses a member listed twice, even through another reference to the same version', async () => {
    const runtime = {
      registry: {
        resolve: async (ref: string) => ({
          name: 'm',
          version: ref.endsWith('@prod') ? '1' : ref.split('@')[1]!,
          canary: false,
        }),
        manifest: async () => ({ task: 'text-classification', labels: LABELS }),
      },
    } as unknown as ModelRuntime;
    const calls: string[] = [];
    const classify = async (ref: string): Promise<PredictOutcome> => {
      calls.push(ref);
      throw new Error('not reached');
    };

    await expect(
      predictEnsemble(runtime, { members: ['m@1', 'm@2', 'm@1'], method: 'soft' }, [LOVE], classify),
    ).rejects.toThrow(/ensemble.members\[2\]: m@1 is m@1, as ensemble.members\[0\] is/);
    await expect(
      predictEnsemble(runtime, { members: ['m@1', 'm@prod'], method: 'hard' }, [LOVE], classify),
    ).rejects.toBeInstanceOf(ValidationError);
    expect(calls).toEqual([]);
  });
});
