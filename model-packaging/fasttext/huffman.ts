/**
 * fastText's hierarchical-softmax tree, rebuilt exactly as `HierarchicalSoftmaxLoss::buildTree`
 * (src/loss.cc) builds it from the label counts: leaves 0..osz-1 are the labels (sorted by
 * count, descending, as the dictionary keeps them), internal node i (osz..2*osz-2) uses row
 * i - osz of the output matrix, and a right child (`binary`) takes sigmoid(f), a left child
 * 1 - sigmoid(f).
 */
export interface HuffmanPaths {
  /** Number of internal nodes (osz - 1) = output matrix rows used. */
  internal: number;
  /** For each label, the internal nodes on its path (as output rows) and whether the step is a right child. */
  paths: Array<Array<{ row: number; right: boolean }>>;
}

/**
 * @example
 * buildHuffmanPaths([5n, 3n, 1n]).paths[0]; // => [{ row: 1, right: true }]
 */
export function buildHuffmanPaths(counts: readonly bigint[]): HuffmanPaths {
  const osz = counts.length;
  const size = 2 * osz - 1;
  // 1e15 is fastText's "infinite" count for not-yet-built internal nodes.
  const count: bigint[] = Array.from({ length: size }, (_, i) => (i < osz ? (counts[i] ?? 0n) : 1000000000000000n));
  const parent = new Int32Array(size).fill(-1);
  const binary = new Uint8Array(size);
  let leaf = osz - 1;
  let node = osz;
  for (let i = osz; i < size; i++) {
    const mini = [0, 0];
    for (let j = 0; j < 2; j++) {
      // Strict `<`, as fastText: on equal counts the internal node is taken first.
      if (leaf >= 0 && (count[leaf] ?? 0n) < (count[node] ?? 0n)) mini[j] = leaf--;
      else mini[j] = node++;
    }
    const [a, b] = mini as [number, number];
    count[i] = (count[a] ?? 0n) + (count[b] ?? 0n);
    parent[a] = i;
    parent[b] = i;
    binary[b] = 1;
  }
  const paths = Array.from({ length: osz }, (_, label) => {
    const path: Array<{ row: number; right: boolean }> = [];
    for (let n = label; parent[n] !== -1; n = parent[n] ?? -1)
      path.push({ row: (parent[n] ?? 0) - osz, right: binary[n] === 1 });
    return path;
  });
  return { internal: osz - 1, paths };
}
