import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { errorMessage } from '../errors.ts';
import { maxAbsDiff, sampleFeeds } from '../graph-samples.ts';
import type { BundleRef } from '../local-bundle.ts';
import { sha256File } from '../manifest.ts';
import { OrtWorker, type TensorData, type WorkerSession } from '../ort-worker.ts';
import { sessionOptions } from '../session-options.ts';
import { loaderGraphs } from './loader-graphs.ts';
import { DEFAULT_TOLERANCE, type OptimizedGraph, type OptimizedGraphsOptions } from './meta.ts';

/** A graph that cannot (unsupported) or must not (mismatch) be replaced by an optimised copy here. */
export class GraphRejectedError extends Error {
  constructor(
    readonly status: 'unsupported' | 'mismatch',
    message: string,
  ) {
    super(message);
  }
}

/**
 * The graphs of a bundle to optimise: its loader's, each in the manifest with its weights inline.
 *
 * @example
 * graphsOf(bundle); // => ['onnx/model.onnx']; throws GraphRejectedError('unsupported') for external data
 */
export const graphsOf = (bundle: BundleRef): string[] => {
  const graphs = loaderGraphs(bundle.manifest);
  for (const g of graphs) {
    if (!bundle.manifest.files.some((f) => f.path === g)) {
      throw new GraphRejectedError('unsupported', `${g} is not in the manifest`);
    }
    // Weights in external data files would need ORT's external-initializer options on save.
    if (bundle.manifest.files.some((f) => f.path.startsWith(`${g}_data`))) {
      throw new GraphRejectedError('unsupported', `${g} keeps its weights in external data files`);
    }
  }
  return graphs;
};

/** Creates a session in the worker, runs the samples through it and releases it: one session at a time. */
const runSamples = async (
  ort: OrtWorker,
  file: string,
  options: InferenceSession.SessionOptions,
  feedsFor: (inputs: WorkerSession['inputMetadata']) => Array<Record<string, TensorData>>,
): Promise<Array<Record<string, TensorData>>> => {
  const session = await ort.create(file, options);
  try {
    const outputs: Array<Record<string, TensorData>> = [];
    for (const feed of feedsFor(session.inputMetadata)) outputs.push(await ort.run(session.handle, feed));
    return outputs;
  } finally {
    await ort.release(session.handle);
  }
};

/**
 * Optimises each graph into `staging` in a worker thread (so requests keep being answered)
 * and checks it against the original on sample inputs: a graph is checked as it is made, so
 * a bad one stops the build at once. The original's session (which saves the optimised
 * graph) is released before the optimised one is created, so a build holds one extra
 * session at a time. `onGraph` is called after each graph (the lock's heartbeat).
 *
 * @example
 * await optimizeInto(bundle, ['onnx/model.onnx'], staging, { cacheDir });
 * // => [{ path: 'onnx/model.onnx', sha256: '…', bytes: 68123456, source: { … }, maxAbsDiff: 0, samples: 1 }]
 */
export const optimizeInto = async (
  bundle: BundleRef,
  graphs: string[],
  staging: string,
  options: OptimizedGraphsOptions,
  onGraph: () => Promise<void> = async () => undefined,
): Promise<OptimizedGraph[]> => {
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE;
  // The loaders' own options (session-options.ts): the saved graph is what they would have made.
  const withLevel = (level: 'all' | 'disabled') => ({
    ...sessionOptions(options.threads ?? 1, level),
    executionProviders: ['cpu'],
  });
  const out: OptimizedGraph[] = [];
  const ort = OrtWorker.start();
  try {
    for (const rel of graphs) {
      const source = bundle.manifest.files.find((f) => f.path === rel)!;
      const src = path.join(bundle.dir, rel);
      // The copy inherits its source's trust: made only from the manifest's bytes.
      if ((await sha256File(src)) !== source.sha256) throw new Error(`${rel} does not match the manifest's sha256`);
      const dst = path.join(staging, rel);
      await mkdir(path.dirname(dst), { recursive: true });
      let feeds: Array<Record<string, TensorData>> = [];
      const samples = (inputs: WorkerSession['inputMetadata']) => {
        try {
          feeds = sampleFeeds(inputs);
          return feeds;
        } catch (error) {
          throw new GraphRejectedError('unsupported', `${rel}: ${errorMessage(error)}`);
        }
      };
      // Level `all`, as the loaders open an original; logSeverityLevel 3 silences ORT's
      // "hardware specific" warning about the saved graph, which the key accounts for.
      const expected = await runSamples(
        ort,
        src,
        { ...withLevel('all'), optimizedModelFilePath: dst, logSeverityLevel: 3 },
        samples,
      );
      const actual = await runSamples(ort, dst, withLevel('disabled'), () => feeds);
      const diff = Math.max(...expected.map((e, i) => maxAbsDiff(e, actual[i]!)));
      if (!(diff <= tolerance)) {
        throw new GraphRejectedError(
          'mismatch',
          `${rel}: the optimised graph's outputs differ from the original's by ${diff} on sample inputs (tolerance ${tolerance})`,
        );
      }
      out.push({
        path: rel,
        sha256: await sha256File(dst),
        bytes: (await stat(dst)).size,
        source: { sha256: source.sha256, bytes: source.bytes },
        maxAbsDiff: diff,
        samples: feeds.length,
      });
      await onGraph();
    }
  } finally {
    await ort.close();
  }
  return out;
};
