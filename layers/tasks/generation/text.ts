/**
 * The text side of one completion: decodes its tokens incrementally, finds stop
 * sequences, and decides how much of the text is safe to stream.
 *
 * Why hand-written: transformers.js's `TextStreamer` prints words as they complete and
 * knows nothing of stop sequences; OpenAI's contract is that the stop text is never
 * returned, also when it spans several tokens, so streamed text must hold back whatever
 * could still turn out to be the start of a stop sequence.
 *
 * Incremental decoding (the scheme of vLLM's `detokenize_incrementally`): each step
 * decodes only a short window, `ids[prefixOffset:]`, and keeps what it adds to the
 * decoding of `ids[prefixOffset:readOffset]`. The window starts one committed step back
 * so that tokenizers whose decoding depends on the previous token (SentencePiece's
 * leading space) see it. A window whose text ends in U+FFFD is not committed: byte-level
 * BPE tokens can split a UTF-8 character, and the next token may complete it. Decoding
 * the whole completion every step would cost O(length^2).
 */

/** Decodes token ids to text (special tokens skipped, no clean-up of spaces). */
export type Decode = (ids: readonly number[]) => string;

const REPLACEMENT = '\uFFFD';

/**
 * Tracks one completion's text as tokens arrive.
 *
 * @example
 * const words = ['Hello', ' wor', 'ld', '!'];
 * const text = new CompletionText((ids) => ids.map((id) => words[id]).join(''), ['world']);
 * text.push(0); // => { delta: 'Hello', stopped: false }
 * text.push(1); // => { delta: ' ', stopped: false }  ('wor' may start 'world': held back)
 * text.push(2); // => { delta: '', stopped: true }
 * text.final;   // => 'Hello '
 */
export class CompletionText {
  private readonly tokenIds: number[] = [];
  private readonly stops: readonly string[];
  /** Text of `ids[0:readOffset]`: it no longer changes. */
  private committed = '';
  /** Text the uncommitted tokens add so far (ends with U+FFFD: may still change). */
  private pendingText = '';
  private prefixOffset = 0;
  private readOffset = 0;
  /** Decoding of `ids[prefixOffset:readOffset]`, the window's context. */
  private prefixText = '';
  private emitted = 0;
  /** Where the next stop search starts: a new match must reach into text that changed. */
  private searchFrom = 0;
  private stopAt: number | undefined;
  private readonly longestStop: number;

  /**
   * @param decode Decodes token ids; must skip special tokens and not clean up spaces
   *   (clean-up rewrites text across token boundaries, so windows would not add up).
   * @param stops Stop sequences; empty strings are ignored.
   */
  constructor(
    private readonly decode: Decode,
    stops: readonly string[],
  ) {
    this.stops = stops.filter((s) => s.length > 0);
    this.longestStop = this.stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** True once a stop sequence has appeared; later tokens are ignored. */
  get stopped(): boolean {
    return this.stopAt !== undefined;
  }

  /** The completion text without the stop sequence and what follows it. */
  get final(): string {
    return this.text.slice(0, this.stopAt ?? this.text.length);
  }

  private get text(): string {
    return this.committed + this.pendingText;
  }

  /**
   * Adds a token. Returns the text that became safe to stream (possibly '') and whether
   * a stop sequence now ends the completion.
   */
  push(tokenId: number): { delta: string; stopped: boolean } {
    if (this.stopAt !== undefined) return { delta: '', stopped: true };
    this.tokenIds.push(tokenId);
    const windowText = this.decode(this.tokenIds.slice(this.prefixOffset));
    const added = windowText.slice(this.prefixText.length);
    if (windowText.length > this.prefixText.length && !windowText.endsWith(REPLACEMENT)) {
      this.committed += added;
      this.pendingText = '';
      this.prefixOffset = this.readOffset;
      this.readOffset = this.tokenIds.length;
      this.prefixText = this.decode(this.tokenIds.slice(this.prefixOffset, this.readOffset));
    } else {
      this.pendingText = added;
    }
    const text = this.text;
    if (this.stops.length > 0) {
      let first = -1;
      for (const stop of this.stops) {
        const at = text.indexOf(stop, this.searchFrom);
        if (at >= 0 && (first < 0 || at < first)) first = at;
      }
      // Committed text never changes, so a later match must reach past it.
      this.searchFrom = Math.max(0, this.committed.length - this.longestStop + 1);
      if (first >= 0) {
        this.stopAt = Math.max(first, this.emitted);
        return { delta: this.take(this.stopAt), stopped: true };
      }
    }
    return { delta: this.take(this.safeEnd()), stopped: false };
  }

  /** Everything not streamed yet (uncommitted text included), up to the stop sequence if one was found. */
  flush(): string {
    return this.take(this.stopAt ?? this.text.length);
  }

  /**
   * End of the streamable text: the committed text, minus its longest suffix that is a
   * proper prefix of a stop sequence (the next tokens may complete the stop sequence; a
   * match that starts later lies beyond the committed text anyway).
   */
  private safeEnd(): number {
    const committed = this.committed;
    let end = committed.length;
    for (const stop of this.stops) {
      for (let len = Math.min(stop.length - 1, committed.length); len > 0; len--) {
        if (committed.endsWith(stop.slice(0, len))) {
          end = Math.min(end, committed.length - len);
          break;
        }
      }
    }
    return end;
  }

  private take(end: number): string {
    if (end <= this.emitted) return '';
    const delta = this.text.slice(this.emitted, end);
    this.emitted = end;
    return delta;
  }
}
