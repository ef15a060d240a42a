import type { onnx as Onnx } from 'onnx-proto';
import onnxProto from 'onnx-proto';
import { buildHuffmanPaths } from './huffman.ts';
import { FasttextFormatError, type FasttextModel, LOSS_NAMES } from './reader.ts';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
/** Opset 13: Unsqueeze/ReduceSum take axes as inputs; every op here exists since then. */
const OPSET = 13;
/** fastText's `std_log(x) = log(x + 1e-5)` (src/loss.cc): reproduced so probabilities match. */
const LOG_EPSILON = 1e-5;

/** Graph input/output names: the contract between this converter and layers/tasks/langid. */
export const LANGID_GRAPH = {
  ids: 'ids',
  mask: 'mask',
  probabilities: 'probabilities',
} as const;

const floatTensor = (name: string, dims: number[], data: Float32Array): Onnx.ITensorProto => ({
  name,
  dims,
  dataType: FLOAT,
  // raw_data is little-endian, as Float32Array is on every platform Lambda and CI run on.
  rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
});

const int64Tensor = (name: string, values: number[]): Onnx.ITensorProto => ({
  name,
  dims: [values.length],
  dataType: INT64,
  int64Data: values,
});

const node = (
  opType: string,
  inputs: string[],
  output: string,
  attribute: Onnx.IAttributeProto[] = [],
): Onnx.INodeProto => ({
  opType,
  input: inputs,
  output: [output],
  name: output,
  attribute,
});

const valueInfo = (name: string, elemType: number, dims: Array<string | number>): Onnx.IValueInfoProto => ({
  name,
  type: {
    tensorType: {
      elemType,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
    },
  },
});

const INT = onnx.AttributeProto.AttributeType.INT;

/** The head of each fastText loss, from `hidden` [batch, dim] to `probabilities` [batch, nlabels]. */
interface Head {
  initializer: Onnx.ITensorProto[];
  node: Onnx.INodeProto[];
}

/**
 * Hierarchical softmax (`HierarchicalSoftmaxLoss::dfs`): f = sigmoid(hidden · W_out^T) for
 * the osz-1 internal nodes; log p(label) = R · log(f + 1e-5) + L · log(1 - f + 1e-5), with R/L
 * the 0/1 matrices of right/left steps on each label's Huffman path; p = exp(log p).
 */
const hierarchicalSoftmaxHead = (model: FasttextModel): Head => {
  const { args, dict, output } = model;
  const { internal, paths } = buildHuffmanPaths(dict.entries.slice(dict.nwords).map((e) => e.count));
  const nlabels = dict.nlabels;
  const dim = args.dim;
  // W_out^T restricted to the internal-node rows: [dim, internal].
  const wt = new Float32Array(dim * internal);
  for (let r = 0; r < internal; r++) for (let d = 0; d < dim; d++) wt[d * internal + r] = output.data[r * dim + d] ?? 0;
  const right = new Float32Array(internal * nlabels);
  const left = new Float32Array(internal * nlabels);
  paths.forEach((path, label) => {
    for (const step of path) (step.right ? right : left)[step.row * nlabels + label] = 1;
  });
  return {
    initializer: [
      floatTensor('output_t', [dim, internal], wt),
      floatTensor('path_right', [internal, nlabels], right),
      floatTensor('path_left', [internal, nlabels], left),
      floatTensor('one', [], new Float32Array([1])),
    ],
    node: [
      node('MatMul', ['hidden', 'output_t'], 'logits'),
      node('Sigmoid', ['logits'], 'f'),
      node('Add', ['f', 'epsilon'], 'f_eps'),
      node('Log', ['f_eps'], 'log_right'),
      node('Sub', ['one', 'f'], 'not_f'),
      node('Add', ['not_f', 'epsilon'], 'not_f_eps'),
      node('Log', ['not_f_eps'], 'log_left'),
      node('MatMul', ['log_right', 'path_right'], 'logp_right'),
      node('MatMul', ['log_left', 'path_left'], 'logp_left'),
      node('Add', ['logp_right', 'logp_left'], 'log_probabilities'),
      node('Exp', ['log_probabilities'], LANGID_GRAPH.probabilities),
    ],
  };
};

/** fastText's sigmoid lookup table (src/loss.cc): 512 steps over [-8, 8]. */
const MAX_SIGMOID = 8;
const SIGMOID_TABLE_SIZE = 512;

/**
 * Softmax (`SoftmaxLoss::computeOutput`, exact exp). fastText reports exp(std_log(p)) =
 * p + 1e-5, and so does the graph.
 */
const softmaxHead = (model: FasttextModel): Head => ({
  initializer: [floatTensor('output_t', [model.args.dim, model.dict.nlabels], transposedOutput(model))],
  node: [
    node('MatMul', ['hidden', 'output_t'], 'logits'),
    node('Softmax', ['logits'], 'p', [{ name: 'axis', type: INT, i: -1 }]),
    node('Add', ['p', 'epsilon'], LANGID_GRAPH.probabilities),
  ],
});

/**
 * One-vs-all and negative sampling (`BinaryLogisticLoss::computeOutput`): unlike the other
 * losses, fastText uses its sigmoid lookup table here (`Loss::sigmoid`: 0 below -8, 1 above 8,
 * else t_sigmoid[int((x + 8) * 32)]), so the graph does the same lookup to match its output.
 */
const oneVsAllHead = (model: FasttextModel): Head => {
  const table = new Float32Array(SIGMOID_TABLE_SIZE + 1);
  for (let i = 0; i <= SIGMOID_TABLE_SIZE; i++) {
    const x = Math.fround(Math.fround(i * 2 * MAX_SIGMOID) / SIGMOID_TABLE_SIZE - MAX_SIGMOID);
    table[i] = 1 / (1 + Math.exp(-x));
  }
  return {
    initializer: [
      floatTensor('output_t', [model.args.dim, model.dict.nlabels], transposedOutput(model)),
      floatTensor('sigmoid_table', [SIGMOID_TABLE_SIZE + 1], table),
      floatTensor('max_sigmoid', [], new Float32Array([MAX_SIGMOID])),
      floatTensor('min_sigmoid', [], new Float32Array([-MAX_SIGMOID])),
      floatTensor('table_scale', [], new Float32Array([SIGMOID_TABLE_SIZE / MAX_SIGMOID / 2])),
      floatTensor('zero', [], new Float32Array([0])),
      floatTensor('one', [], new Float32Array([1])),
    ],
    node: [
      node('MatMul', ['hidden', 'output_t'], 'logits'),
      node('Clip', ['logits', 'min_sigmoid', 'max_sigmoid'], 'clipped'),
      node('Add', ['clipped', 'max_sigmoid'], 'shifted'),
      node('Mul', ['shifted', 'table_scale'], 'scaled'),
      node('Floor', ['scaled'], 'floored'),
      node('Cast', ['floored'], 'table_index', [{ name: 'to', type: INT, i: INT64 }]),
      node('Gather', ['sigmoid_table', 'table_index'], 'looked_up', [{ name: 'axis', type: INT, i: 0 }]),
      node('Less', ['logits', 'min_sigmoid'], 'below'),
      node('Greater', ['logits', 'max_sigmoid'], 'above'),
      node('Where', ['above', 'one', 'looked_up'], 'upper_done'),
      node('Where', ['below', 'zero', 'upper_done'], 'p'),
      node('Add', ['p', 'epsilon'], LANGID_GRAPH.probabilities),
    ],
  };
};

/** W_out^T [dim, nlabels] for the flat heads. */
const transposedOutput = ({ args, dict, output }: FasttextModel): Float32Array => {
  const wt = new Float32Array(args.dim * dict.nlabels);
  for (let r = 0; r < dict.nlabels; r++) {
    for (let d = 0; d < args.dim; d++) wt[d * dict.nlabels + r] = output.data[r * args.dim + d] ?? 0;
  }
  return wt;
};

/**
 * Builds the ONNX graph of a supervised fastText model:
 *
 * - inputs `ids` int64 [batch, n] (feature rows of the input matrix: word ids, then
 *   nwords + bucket/pruned n-gram ids, as `Dictionary::getLine` makes them) and `mask` float
 *   [batch, n] (1 for a real feature, 0 for padding; every text has at least one feature, the
 *   end-of-sentence token);
 * - hidden = masked mean of the input rows (`Model::computeHidden`);
 * - the loss head: hierarchical softmax (lid.176) as matrix operations over the Huffman tree,
 *   or softmax / one-vs-all / negative sampling;
 * - output `probabilities` float [batch, nlabels], labels in dictionary order, the values
 *   `fasttext predict-prob` prints (it adds 1e-5 inside each log: `std_log`).
 *
 * The input matrix is stored dense float32, dequantized here. Why not keep the product
 * quantization in the graph: for lid.176 the dense matrix is 50,000 x 16 floats = 3.2 MB,
 * which ONNX Runtime loads in a few milliseconds (session creation ~10 ms after the runtime
 * itself is up; cold start in bench/results/detect.json), while in-graph PQ (codes + centroids,
 * ~0.5 MB) would add gathers and multiplies to every request for no cold-start gain worth
 * having. Dense fp32 is also exactly what fastText computes (it dequantizes in float32 too);
 * fp16 would halve the size and lose parity digits.
 *
 * @example
 * const bytes = buildLangIdOnnx(readFasttext(await readFile('lid.176.ftz')));
 * await writeFile('model.onnx', bytes);
 */
export function buildLangIdOnnx(model: FasttextModel, docString = ''): Uint8Array {
  const { args, dict, input } = model;
  const loss = LOSS_NAMES[args.loss as keyof typeof LOSS_NAMES];
  if (!loss) throw new FasttextFormatError(`unknown loss ${args.loss}: must be one of hs, ns, softmax, ova`);
  const head =
    loss === 'hs' ? hierarchicalSoftmaxHead(model) : loss === 'softmax' ? softmaxHead(model) : oneVsAllHead(model);

  const graph: Onnx.IGraphProto = {
    name: `fasttext_${loss}`,
    docString,
    input: [valueInfo(LANGID_GRAPH.ids, INT64, ['batch', 'n']), valueInfo(LANGID_GRAPH.mask, FLOAT, ['batch', 'n'])],
    output: [valueInfo(LANGID_GRAPH.probabilities, FLOAT, ['batch', dict.nlabels])],
    initializer: [
      floatTensor('input_matrix', [input.rows, args.dim], input.data),
      floatTensor('epsilon', [], new Float32Array([LOG_EPSILON])),
      int64Tensor('axis1', [1]),
      int64Tensor('axis2', [2]),
      ...head.initializer,
    ],
    node: [
      node('Gather', ['input_matrix', LANGID_GRAPH.ids], 'rows', [{ name: 'axis', type: INT, i: 0 }]),
      node('Unsqueeze', [LANGID_GRAPH.mask, 'axis2'], 'mask3'),
      node('Mul', ['rows', 'mask3'], 'masked_rows'),
      node('ReduceSum', ['masked_rows', 'axis1'], 'row_sum', [{ name: 'keepdims', type: INT, i: 0 }]),
      node('ReduceSum', [LANGID_GRAPH.mask, 'axis1'], 'count', [{ name: 'keepdims', type: INT, i: 1 }]),
      node('Div', ['row_sum', 'count'], 'hidden'),
      ...head.node,
    ],
  };
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'lambda-hf-serve convert-fasttext',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET }],
    graph,
  }).finish();
}
