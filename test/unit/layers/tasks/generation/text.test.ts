import { describe, expect, it } from 'vitest';
import { CompletionText } from '#tasks/generation/index.ts';

/**
 * A byte-level toy tokenizer: each token is a byte string, decoding joins the bytes and
 * decodes UTF-8 with replacement characters, as byte-level BPE does.
 */
const byteTokens = (pieces: Array<string | number[]>) => {
  const bytes = pieces.map((p) => (typeof p === 'string' ? new TextEncoder().encode(p) : Uint8Array.from(p)));
  const decode = (ids: readonly number[]) =>
    new TextDecoder('utf-8', { fatal: false }).decode(Uint8Array.from(ids.flatMap((id) => [...(bytes[id] ?? [])])));
  return { decode, ids: pieces.map((_, i) => i) };
};

/** Pushes every token, returning the streamed deltas and the end state. */
const feed = (text: CompletionText, ids: number[]) => {
  const deltas: string[] = [];
  let stopped = false;
  for (const id of ids) {
    const r = text.push(id);
    if (r.delta) deltas.push(r.delta);
    stopped = r.stopped;
    if (stopped) break;
  }
  const rest = text.flush();
  if (rest) deltas.push(rest);
  return { deltas, stopped };
};

describe('CompletionText', () => {
  it('streams text token by token when there are no stop sequences', () => {
    // Prepare
    const tok = byteTokens(['Hello', ',', ' wor', 'ld']);
    const text = new CompletionText(tok.decode, []);

    // Act
    const { deltas, stopped } = feed(text, tok.ids);

    // Assess
    expect(deltas).toEqual(['Hello', ',', ' wor', 'ld']);
    expect(stopped).toBe(false);
    expect(text.final).toBe('Hello, world');
  });

  it('ends on a stop sequence that spans tokens and never returns or streams it', () => {
    // Prepare
    const tok = byteTokens(['one', ' two', ' th', 'ree', ' four']);
    const text = new CompletionText(tok.decode, [' three']);

    // Act
    const { deltas, stopped } = feed(text, tok.ids);

    // Assess
    expect(stopped).toBe(true);
    expect(text.final).toBe('one two');
    expect(deltas.join('')).toBe('one two');
    expect(deltas.some((d) => d.includes('th'))).toBe(false);
  });

  it('holds back a possible start of a stop sequence, then releases it when it is not one', () => {
    // Prepare
    const tok = byteTokens(['a', ' th', 'en', '!']);
    const text = new CompletionText(tok.decode, [' three']);

    // Act
    const steps = tok.ids.map((id) => text.push(id).delta);

    // Assess: ' th' could start ' three'; ' then' cannot.
    expect(steps).toEqual(['a', '', ' then', '!']);
    expect(text.final).toBe('a then!');
  });

  it('cuts at the earliest of several stop sequences, even inside one token', () => {
    // Prepare
    const tok = byteTokens(['abc', 'STOPdef END']);
    const text = new CompletionText(tok.decode, ['END', 'STOP']);

    // Act
    const { deltas, stopped } = feed(text, tok.ids);

    // Assess
    expect(stopped).toBe(true);
    expect(text.final).toBe('abc');
    expect(deltas.join('')).toBe('abc');
  });

  it('keeps a UTF-8 character split over two tokens whole, never streaming a replacement character', () => {
    // Prepare: '€' is E2 82 AC; the first token ends in the middle of it.
    const tok = byteTokens(['price: ', [0xe2, 0x82], [0xac], ' 5']);
    const text = new CompletionText(tok.decode, []);

    // Act
    const { deltas } = feed(text, tok.ids);

    // Assess
    expect(deltas.join('')).toBe('price: € 5');
    expect(deltas.some((d) => d.includes('\uFFFD'))).toBe(false);
  });

  it('flushes an incomplete UTF-8 tail at the end as the full decoding shows it', () => {
    // Prepare
    const tok = byteTokens(['ok ', [0xe2, 0x82]]);
    const text = new CompletionText(tok.decode, []);

    // Act
    const { deltas } = feed(text, tok.ids);

    // Assess
    expect(deltas.join('')).toBe(tok.decode(tok.ids));
    expect(text.final).toBe(tok.decode(tok.ids));
  });

  it('finds a stop sequence that ends in a character split over tokens', () => {
    // Prepare
    const tok = byteTokens(['cost', ' €'.slice(0, 1), [0xe2, 0x82], [0xac], 'more']);
    const text = new CompletionText(tok.decode, [' €']);

    // Act
    const { deltas, stopped } = feed(text, tok.ids);

    // Assess
    expect(stopped).toBe(true);
    expect(text.final).toBe('cost');
    expect(deltas.join('')).toBe('cost');
  });

  it('decodes with the previous token as context (SentencePiece-style leading space)', () => {
    // Prepare: a decoder that drops the leading space of the first piece, as Llama's does.
    const pieces = ['▁Hello', '▁world', '!'];
    const decode = (ids: readonly number[]) =>
      ids
        .map((id) => pieces[id] ?? '')
        .join('')
        .replaceAll('▁', ' ')
        .replace(/^ /, '');
    const text = new CompletionText(decode, []);

    // Act
    const { deltas } = feed(text, [0, 1, 2]);

    // Assess
    expect(deltas).toEqual(['Hello', ' world', '!']);
    expect(text.final).toBe(decode([0, 1, 2]));
  });
});
