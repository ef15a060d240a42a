/**
 * fastText's supervised featurizer (`Dictionary::getLine`, fastText 0.9), in TypeScript so the
 * ONNX graph sees exactly the input rows fastText would average. Hand-written: the only other
 * implementation on npm is fastText itself compiled to WebAssembly, which hides the feature ids.
 */

/** What the converter writes to `featurizer.json` (see model-packaging/fasttext/convert.ts). */
export interface FeaturizerSpec {
  format: 'fasttext-featurizer';
  formatVersion: 1;
  nwords: number;
  bucket: number;
  minn: number;
  maxn: number;
  wordNgrams: number;
  eos: string;
  labelPrefix: string;
  words: string[];
  labels: string[];
  /** `prunedBuckets[r]` = hash bucket of n-gram row nwords + r (pruned models); null = all kept. */
  prunedBuckets: number[] | null;
}

/** fastText's whitespace (`Dictionary::readWord`): all ASCII, so splitting UTF-16 text is byte-exact. */
const WHITESPACE = /[ \n\r\t\v\f\0]+/;
const encoder = new TextEncoder();
/** Out-of-vocabulary words whose rows are kept (~100 bytes each: a few MB at most). */
const OOV_CACHE_SIZE = 50_000;

/**
 * FNV-1a 32-bit over bytes, with fastText's quirk: each byte is cast to int8 (sign-extended)
 * before the xor, so bytes >= 0x80 xor 0xffffff80.. rather than 0x80...
 */
export const fasttextHash = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let h = 2166136261;
  for (let i = start; i < end; i++) {
    const b = bytes[i] ?? 0;
    h = Math.imul((h ^ (b < 0x80 ? b : b | 0xffffff00)) >>> 0, 16777619) >>> 0;
  }
  return h;
};

/**
 * @example
 * const f = new Featurizer(spec);
 * f.featurize('Bonjour tout le monde'); // => [ 812, 9371, ..., 0 ] (input-matrix rows, EOS last)
 */
export class Featurizer {
  readonly spec: FeaturizerSpec;
  private readonly ids = new Map<string, number>();
  private readonly pruneidx: Map<number, number> | undefined;
  /** Rows of in-vocabulary words (`words_[wid].subwords`), computed on first use. */
  private readonly subwordCache = new Map<number, readonly number[]>();
  /**
   * Rows of out-of-vocabulary words. fastText recomputes them every time; caching gives the
   * same rows and most of the throughput (real text repeats words). Bounded: cleared when full.
   */
  private readonly oovCache = new Map<string, readonly number[]>();
  /** Reused UTF-8 buffer for `<word>`; grown on demand. */
  private bytes = new Uint8Array(256);

  constructor(spec: FeaturizerSpec) {
    this.spec = spec;
    spec.words.forEach((w, i) => {
      this.ids.set(w, i);
    });
    spec.labels.forEach((l, i) => {
      this.ids.set(spec.labelPrefix + l, spec.nwords + i);
    });
    if (spec.prunedBuckets) {
      this.pruneidx = new Map();
      spec.prunedBuckets.forEach((bucket, row) => {
        this.pruneidx?.set(bucket, row);
      });
    }
  }

  /** `Dictionary::pushHash`: pruned models keep only some buckets, remapped. */
  private pushHash(out: number[], id: number): void {
    if (this.pruneidx) {
      const kept = this.pruneidx.get(id);
      if (kept === undefined) return;
      out.push(this.spec.nwords + kept);
    } else {
      out.push(this.spec.nwords + id);
    }
  }

  /** `Dictionary::computeSubwords` of `<word>`: character n-grams over UTF-8 code points. */
  private addCharNgrams(out: number[], word: string): void {
    const text = `<${word}>`;
    if (this.bytes.length < text.length * 3) this.bytes = new Uint8Array(text.length * 3);
    // encodeInto writes into the reused buffer: no allocation per token (TextEncoder.encode allocates).
    const size = encoder.encodeInto(text, this.bytes).written;
    const bytes = this.bytes;
    const { minn, maxn, bucket } = this.spec;
    for (let i = 0; i < size; i++) {
      if (((bytes[i] ?? 0) & 0xc0) === 0x80) continue;
      // FNV-1a is incremental: extend the n-gram's hash byte by byte as j advances.
      let h = 2166136261;
      let j = i;
      for (let n = 1; j < size && n <= maxn; n++) {
        do {
          const b = bytes[j++] ?? 0;
          h = Math.imul((h ^ (b < 0x80 ? b : b | 0xffffff00)) >>> 0, 16777619) >>> 0;
        } while (j < size && ((bytes[j] ?? 0) & 0xc0) === 0x80);
        if (n >= minn && !(n === 1 && (i === 0 || j === size))) this.pushHash(out, h % bucket);
      }
    }
  }

  private oovRows(word: string): readonly number[] {
    let rows = this.oovCache.get(word);
    if (!rows) {
      const list: number[] = [];
      this.addCharNgrams(list, word);
      if (this.oovCache.size >= OOV_CACHE_SIZE) this.oovCache.clear();
      this.oovCache.set(word, list);
      rows = list;
    }
    return rows;
  }

  private subwords(wid: number, word: string): readonly number[] {
    let rows = this.subwordCache.get(wid);
    if (!rows) {
      const list = [wid];
      if (word !== this.spec.eos && this.spec.maxn > 0) this.addCharNgrams(list, word);
      rows = list;
      this.subwordCache.set(wid, rows);
    }
    return rows;
  }

  /**
   * Input-matrix rows of one line, as fastText's `getLine` computes them for a line that ends
   * with a newline (so the end-of-sentence token `</s>` is always the last token). Newlines
   * inside `text` are whitespace here: a multi-line text is featurized as one line, whereas
   * `fasttext predict` would answer each line separately. Like fastText, a literal `</s>`
   * token ends the line, and `__label__*` tokens are ignored.
   */
  featurize(text: string): number[] {
    const out: number[] = [];
    const wordHashes: number[] = [];
    const tokens = text.split(WHITESPACE);
    tokens.push(this.spec.eos);
    for (const token of tokens) {
      if (!token) continue;
      const wid = this.ids.get(token);
      const isLabel = wid === undefined ? token.startsWith(this.spec.labelPrefix) : wid >= this.spec.nwords;
      if (isLabel) continue;
      const rows = wid === undefined ? this.oovRows(token) : this.subwords(wid, token);
      for (const row of rows) out.push(row);
      if (this.spec.wordNgrams > 1) wordHashes.push(fasttextHash(encoder.encode(token)));
      if (token === this.spec.eos) break;
    }
    if (this.spec.wordNgrams > 1) this.addWordNgrams(out, wordHashes);
    return out;
  }

  /**
   * `Dictionary::addWordNgrams`: uint64 arithmetic, hence BigInt (only for wordNgrams > 1
   * models). fastText keeps the word hashes in a `std::vector<int32_t>`, so each one is
   * sign-extended to 64 bits before the multiply-add: `| 0` reproduces that.
   */
  private addWordNgrams(out: number[], hashes: number[]): void {
    const n = this.spec.wordNgrams;
    const bucket = BigInt(this.spec.bucket);
    for (let i = 0; i < hashes.length; i++) {
      let h = BigInt.asUintN(64, BigInt((hashes[i] ?? 0) | 0));
      for (let j = i + 1; j < hashes.length && j < i + n; j++) {
        h = BigInt.asUintN(64, h * 116049371n + BigInt((hashes[j] ?? 0) | 0));
        this.pushHash(out, Number(h % bucket));
      }
    }
  }
}
