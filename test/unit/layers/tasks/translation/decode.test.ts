import { type PreTrainedModel, Tensor } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { beamSearch, type DecodeSettings, greedySearch, rankedBeamSearch } from '#tasks/translation/decode.ts';

/**
 * A seq2seq "model" with a hand-written next-token distribution, so the decoding loop's
 * bookkeeping (cache reordering, rows leaving the batch, processors, beam scoring) is
 * checked against answers worked out by hand. The decoder history travels in the cache
 * tensor, as real KV caches do: if rows were gathered wrongly, the answers would change.
 */
const EOS = 0;
const START = 9;
const VOCAB = 10;

/** Next-token probabilities given the source (sum of its ids) and the decoder history. */
const distribution = (source: number, history: number[]): Record<number, number> => {
  const last = history.at(-1);
  if (source >= 100) return { 1: 0.6, 2: 0.4 }; // never ends
  if (history.length === 1) return source % 2 ? { 1: 0.5, 2: 0.4, [EOS]: 0.1 } : { 2: 0.6, 1: 0.3, [EOS]: 0.1 };
  if (last === 1) return { [EOS]: 0.3, 1: 0.233, 2: 0.233, 3: 0.234 };
  if (last === 2) return { 3: 0.9, [EOS]: 0.05, 1: 0.05 };
  if (last === 3) return { [EOS]: 0.9, 3: 0.1 };
  return { [EOS]: 1 };
};

const fakeModel = (): PreTrainedModel & { calls: number[] } => {
  const calls: number[] = [];
  const model = {
    calls,
    _prepare_encoder_decoder_kwargs_for_generation: async ({
      model_inputs,
    }: {
      model_inputs: { input_ids: Tensor };
    }) => {
      const ids = model_inputs.input_ids;
      return {
        ...model_inputs,
        encoder_outputs: new Tensor('float32', Float32Array.from(ids.data as BigInt64Array, Number), [...ids.dims, 1]),
      };
    },
    forward: async (inputs: {
      encoder_outputs: Tensor;
      attention_mask: Tensor;
      decoder_input_ids: Tensor;
      past_key_values?: Record<string, Tensor>;
    }) => {
      const [rows = 0, width = 0] = inputs.attention_mask.dims;
      calls.push(rows);
      const past = inputs.past_key_values?.['past_key_values.0.decoder.key'];
      const pastLength = past?.dims[1] ?? 0;
      const history = new Float32Array(rows * (pastLength + 1));
      const logits = new Float32Array(rows * VOCAB);
      for (let r = 0; r < rows; r++) {
        let source = 0;
        for (let j = 0; j < width; j++) {
          if ((inputs.attention_mask.data as BigInt64Array)[r * width + j] === 1n) {
            source += (inputs.encoder_outputs.data as Float32Array)[r * width + j] as number;
          }
        }
        const previous = past
          ? Array.from((past.data as Float32Array).subarray(r * pastLength, (r + 1) * pastLength))
          : [];
        const rowHistory = [...previous, Number((inputs.decoder_input_ids.data as BigInt64Array)[r])];
        history.set(rowHistory, r * (pastLength + 1));
        const p = distribution(source, rowHistory);
        for (let v = 0; v < VOCAB; v++) logits[r * VOCAB + v] = Math.log(p[v] ?? 1e-9);
      }
      return {
        logits: new Tensor('float32', logits, [rows, 1, VOCAB]),
        'present.0.decoder.key': new Tensor('float32', history, [rows, pastLength + 1]),
      };
    },
  };
  // Only the two members the decoding loop uses are implemented.
  return model as unknown as PreTrainedModel & { calls: number[] };
};

const settings: DecodeSettings = {
  decoderStartTokenId: START,
  eosTokenIds: new Set([EOS]),
  padTokenId: 8,
  suppressTokenIds: [],
  lengthPenalty: 1,
  earlyStopping: false,
};

describe('greedySearch', () => {
  it('takes the most likely token each step and stops at </s>', async () => {
    // Act
    const [odd, even] = await greedySearch(
      fakeModel(),
      [
        { inputIds: [1], maxNewTokens: 10 },
        { inputIds: [2], maxNewTokens: 10 },
      ],
      settings,
    );

    // Assess: odd source: 1 (0.5) then </s> (0.3); even source: 2 (0.6), 3 (0.9), </s> (0.9).
    expect(odd).toEqual([START, 1, EOS]);
    expect(even).toEqual([START, 2, 3, EOS]);
  });

  it('drops finished rows from the batch and gives each row its own bound, equal to single runs', async () => {
    // Prepare
    const rows = [
      { inputIds: [100, 1], maxNewTokens: 3 },
      { inputIds: [1], maxNewTokens: 10 },
      { inputIds: [100, 2], maxNewTokens: 6 },
      { inputIds: [2, 2], maxNewTokens: 10 },
    ];
    const model = fakeModel();

    // Act
    const batch = await greedySearch(model, rows, settings);
    const singles = [];
    for (const row of rows) singles.push(...(await greedySearch(fakeModel(), [row], settings)));

    // Assess
    expect(batch).toEqual(singles);
    expect(batch.map((s) => s.length - 1)).toEqual([3, 2, 6, 3]);
    expect(model.calls).toEqual([4, 4, 3, 1, 1, 1]);
  });

  it('forces the first token, forces </s> at the bound and never generates a banned token', async () => {
    // Act
    const [forced] = await greedySearch(fakeModel(), [{ inputIds: [100], maxNewTokens: 4 }], {
      ...settings,
      forcedBosTokenId: 7,
      forcedEosTokenId: EOS,
      suppressTokenIds: [1],
    });

    // Assess: 7 forced, then 2 (1 is banned), 2, and </s> forced as the 4th new token.
    expect(forced).toEqual([START, 7, 2, 2, EOS]);
  });
});

describe('beamSearch', () => {
  it('finds the sequence greedy misses (2 3 </s> beats 1 </s> after length normalisation)', async () => {
    // Act
    const [greedy] = await greedySearch(fakeModel(), [{ inputIds: [1], maxNewTokens: 10 }], settings);
    const [beam] = await beamSearch(fakeModel(), [{ inputIds: [1], maxNewTokens: 10 }], settings, 2);

    // Assess: greedy log p = ln 0.5 + ln 0.3 (/2 = -0.95); beam: ln 0.4 + 2 ln 0.9 (/3 = -0.38).
    expect(greedy).toEqual([START, 1, EOS]);
    expect(beam).toEqual([START, 2, 3, EOS]);
  });

  it("ranks the finished hypotheses best first, the first being beamSearch's answer", async () => {
    // Act
    const row = { inputIds: [1], maxNewTokens: 10 };
    const [ranked] = await rankedBeamSearch(fakeModel(), [row], settings, 2);
    const [best] = await beamSearch(fakeModel(), [row], settings, 2);

    // Assess: two beams, two distinct finished hypotheses, the beam search's answer first.
    expect(ranked).toHaveLength(2);
    expect(ranked![0]).toEqual(best);
    expect(ranked![0]).toEqual([START, 2, 3, EOS]);
    expect(ranked![1]).toEqual([START, 1, 3, EOS]);
  });

  it('keeps sentences apart in a batch (equal to single runs) and stops each at its bound', async () => {
    // Prepare
    const rows = [
      { inputIds: [1], maxNewTokens: 10 },
      { inputIds: [100], maxNewTokens: 5 },
      { inputIds: [2], maxNewTokens: 2 },
      { inputIds: [3], maxNewTokens: 10 },
    ];

    // Act
    const batch = await beamSearch(fakeModel(), rows, settings, 3);
    const singles = [];
    for (const row of rows) singles.push(...(await beamSearch(fakeModel(), [row], settings, 3)));

    // Assess
    expect(batch).toEqual(singles);
    expect(batch[0]).toEqual([START, 2, 3, EOS]);
    // The endless source runs to its bound along its most likely path.
    expect(batch[1]).toEqual([START, 1, 1, 1, 1, 1]);
    // Bound 2: "2 3" (0.54, unfinished) beats "1 </s>" (0.09) and "2 </s>" (0.03).
    expect(batch[2]).toEqual([START, 2, 3]);
  });

  it('applies the forced tokens to every beam', async () => {
    // Act
    const [beam] = await beamSearch(
      fakeModel(),
      [{ inputIds: [100], maxNewTokens: 3 }],
      { ...settings, forcedBosTokenId: 7, forcedEosTokenId: EOS },
      4,
    );

    // Assess
    expect(beam?.[1]).toBe(7);
    expect(beam?.at(-1)).toBe(EOS);
    expect(beam).toHaveLength(4);
  });
});

describe('decoding with a signal', () => {
  it.each([
    ['greedy', (m: PreTrainedModel, s: DecodeSettings) => greedySearch(m, [{ inputIds: [1], maxNewTokens: 10 }], s)],
    ['beam', (m: PreTrainedModel, s: DecodeSettings) => beamSearch(m, [{ inputIds: [1], maxNewTokens: 10 }], s, 2)],
  ])('%s search stops at the next step once the signal aborts, with its reason', async (_, search) => {
    const model = fakeModel();
    const controller = new AbortController();
    const reason = new Error('deadline');
    const forward = model.forward.bind(model);
    // Abort during the first decoder step, as a deadline or a closed stream would.
    (model as { forward: unknown }).forward = async (inputs: never) => {
      const out = await forward(inputs);
      controller.abort(reason);
      return out;
    };

    await expect(search(model, { ...settings, signal: controller.signal })).rejects.toBe(reason);
    expect(model.calls).toHaveLength(1);
  });
});
