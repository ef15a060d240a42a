/**
 * Reader of fastText's binary model format (`.bin`, and `.ftz` = quantized), version 12, as
 * written by fastText 0.9 (`FastText::saveModel`). Hand-written because no npm package reads
 * the format outside WebAssembly (fasttext.wasm.js only predicts; it exposes no weights).
 *
 * Layout (little-endian): magic int32, version int32, Args (12 x int32 + double t),
 * Dictionary (size, nwords, nlabels int32; ntokens, pruneidx_size int64; entries of
 * NUL-terminated string + int64 count + int8 type; pruneidx pairs of int32), then
 * quant_input bool + input matrix, qout bool + output matrix. A matrix is dense
 * (m, n int64 + m*n float32) or quantized (qnorm bool, m, n int64, codesize int32, codes,
 * ProductQuantizer, and when qnorm: norm codes + a 1-d ProductQuantizer).
 */

export const FASTTEXT_MAGIC = 793712314;
export const FASTTEXT_VERSION = 12;
/** Centroids per sub-quantizer: fastText's ProductQuantizer uses 8-bit codes. */
const KSUB = 256;

/** fastText `loss_name` and `model_name` enums (src/args.h). */
export const LOSS_NAMES = { 1: 'hs', 2: 'ns', 3: 'softmax', 4: 'ova' } as const;
export const MODEL_NAMES = { 1: 'cbow', 2: 'sg', 3: 'sup' } as const;

export interface FasttextArgs {
  dim: number;
  ws: number;
  epoch: number;
  minCount: number;
  neg: number;
  wordNgrams: number;
  loss: number;
  model: number;
  bucket: number;
  minn: number;
  maxn: number;
  lrUpdateRate: number;
  t: number;
}

export interface FasttextEntry {
  word: string;
  count: bigint;
  /** 0 = word, 1 = label. */
  type: number;
}

export interface FasttextDictionary {
  nwords: number;
  nlabels: number;
  ntokens: bigint;
  /** Words first (ids 0..nwords-1), then labels, each group sorted by count as fastText keeps them. */
  entries: FasttextEntry[];
  /** -1 when not pruned; else the number of kept n-gram buckets. */
  pruneidxSize: number;
  /** Bucket id (hash % bucket) -> row offset after nwords, for pruned (.ftz) models. */
  pruneidx: Array<[number, number]>;
}

/** A matrix, dequantized to float32 rows (what fastText computes row by row at predict time). */
export interface DenseRows {
  rows: number;
  cols: number;
  data: Float32Array;
  /** Whether the file stored it product-quantized. */
  quantized: boolean;
}

export interface FasttextModel {
  version: number;
  args: FasttextArgs;
  dict: FasttextDictionary;
  input: DenseRows;
  output: DenseRows;
}

/** Thrown on a file that is not a fastText model this reader understands. */
export class FasttextFormatError extends Error {}

class Cursor {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  private need(bytes: number): void {
    if (this.offset + bytes > this.buf.length) {
      throw new FasttextFormatError(
        `truncated file: needs ${bytes} bytes at offset ${this.offset} of ${this.buf.length}`,
      );
    }
  }
  i32(): number {
    this.need(4);
    const v = this.buf.readInt32LE(this.offset);
    this.offset += 4;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.offset);
    this.offset += 8;
    return v;
  }
  /** int64 that must fit a JS number (matrix sizes). */
  size(): number {
    const v = this.i64();
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new FasttextFormatError(`bad size ${v} at ${this.offset - 8}`);
    return Number(v);
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.offset);
    this.offset += 8;
    return v;
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.offset++);
  }
  i8(): number {
    this.need(1);
    return this.buf.readInt8(this.offset++);
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.offset, n).slice();
    this.offset += n;
    return out;
  }
  floats(n: number): Float32Array {
    this.need(4 * n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.buf.readFloatLE(this.offset + 4 * i);
    this.offset += 4 * n;
    return out;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new FasttextFormatError(`unterminated string at offset ${this.offset}`);
    const s = this.buf.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return s;
  }
}

interface ProductQuantizer {
  dim: number;
  nsubq: number;
  dsub: number;
  lastdsub: number;
  centroids: Float32Array;
}

const readPq = (c: Cursor): ProductQuantizer => {
  const dim = c.i32();
  const nsubq = c.i32();
  const dsub = c.i32();
  const lastdsub = c.i32();
  return { dim, nsubq, dsub, lastdsub, centroids: c.floats(dim * KSUB) };
};

/** ProductQuantizer::get_centroids: the last sub-quantizer may be narrower (lastdsub). */
const centroidOffset = (pq: ProductQuantizer, m: number, code: number): number =>
  m === pq.nsubq - 1 ? m * KSUB * pq.dsub + code * pq.lastdsub : (m * KSUB + code) * pq.dsub;

const readMatrix = (c: Cursor, quantized: boolean): DenseRows => {
  if (!quantized) {
    const rows = c.size();
    const cols = c.size();
    return { rows, cols, data: c.floats(rows * cols), quantized: false };
  }
  const qnorm = c.u8() !== 0;
  const rows = c.size();
  const cols = c.size();
  const codesize = c.i32();
  const codes = c.bytes(codesize);
  const pq = readPq(c);
  const normCodes = qnorm ? c.bytes(rows) : undefined;
  const npq = qnorm ? readPq(c) : undefined;
  if (pq.dim !== cols || codesize !== rows * pq.nsubq) {
    throw new FasttextFormatError(
      `quantized matrix ${rows}x${cols} does not match its quantizer (dim ${pq.dim}, ${pq.nsubq} sub-quantizers)`,
    );
  }
  // QuantMatrix::addRowToVector: x += norm * centroid, computed in float32 as here.
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const norm = normCodes && npq ? (npq.centroids[centroidOffset(npq, 0, normCodes[i] ?? 0)] ?? 0) : 1;
    for (let m = 0; m < pq.nsubq; m++) {
      const d = m === pq.nsubq - 1 ? pq.lastdsub : pq.dsub;
      const at = centroidOffset(pq, m, codes[i * pq.nsubq + m] ?? 0);
      for (let j = 0; j < d; j++) data[i * cols + m * pq.dsub + j] = Math.fround(norm * (pq.centroids[at + j] ?? 0));
    }
  }
  return { rows, cols, data, quantized: true };
};

/**
 * Parses a fastText model file's bytes.
 *
 * @example
 * const model = readFasttext(await readFile('lid.176.ftz'));
 * model.dict.nlabels; // => 176
 */
export function readFasttext(buf: Buffer): FasttextModel {
  const c = new Cursor(buf);
  const magic = c.i32();
  if (magic !== FASTTEXT_MAGIC)
    throw new FasttextFormatError(`not a fastText model (magic ${magic}, expected ${FASTTEXT_MAGIC})`);
  const version = c.i32();
  if (version !== FASTTEXT_VERSION) {
    throw new FasttextFormatError(
      `unsupported fastText format version ${version} (expected ${FASTTEXT_VERSION}, fastText >= 0.9)`,
    );
  }
  const [dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate] = Array.from(
    { length: 12 },
    () => c.i32(),
  ) as [number, number, number, number, number, number, number, number, number, number, number, number];
  const args: FasttextArgs = {
    dim,
    ws,
    epoch,
    minCount,
    neg,
    wordNgrams,
    loss,
    model,
    bucket,
    minn,
    maxn,
    lrUpdateRate,
    t: c.f64(),
  };

  const size = c.i32();
  const nwords = c.i32();
  const nlabels = c.i32();
  const ntokens = c.i64();
  const pruneidxSize = Number(c.i64());
  const entries: FasttextEntry[] = [];
  for (let i = 0; i < size; i++) entries.push({ word: c.cstring(), count: c.i64(), type: c.i8() });
  const pruneidx: Array<[number, number]> = [];
  for (let i = 0; i < pruneidxSize; i++) pruneidx.push([c.i32(), c.i32()]);
  if (nwords + nlabels !== size)
    throw new FasttextFormatError(`dictionary sizes disagree: ${nwords} + ${nlabels} != ${size}`);

  const input = readMatrix(c, c.u8() !== 0);
  const output = readMatrix(c, c.u8() !== 0);
  if (c.offset !== buf.length) throw new FasttextFormatError(`${buf.length - c.offset} unexpected trailing bytes`);
  if (input.cols !== dim || output.cols !== dim) throw new FasttextFormatError(`matrix width differs from dim ${dim}`);
  return { version, args, dict: { nwords, nlabels, ntokens, entries, pruneidxSize, pruneidx }, input, output };
}
