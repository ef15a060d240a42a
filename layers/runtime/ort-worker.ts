import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { InferenceSession } from 'onnxruntime-node';

/** A tensor as plain data, the form that crosses a worker boundary (structured clone). */
export interface TensorData {
  type: 'float32' | 'int64' | 'int32' | 'bool';
  dims: readonly number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

export interface WorkerSession {
  handle: number;
  inputMetadata: readonly InferenceSession.ValueMetadata[];
}

/**
 * The worker's code, evaluated as CommonJS (`eval: true`): a path-free worker needs no file
 * of its own beside the function bundle, and nothing here needs TypeScript. It owns ONNX
 * Runtime sessions by handle and answers `create`, `run` and `release` messages.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const sessions = new Map();
let next = 0;
const plain = (t) => ({ type: t.type, dims: t.dims, data: t.data });
parentPort.on('message', async ({ id, op, args }) => {
  try {
    let result;
    if (op === 'create') {
      const session = await ort.InferenceSession.create(args.path, args.options);
      sessions.set(++next, session);
      result = { handle: next, inputMetadata: session.inputMetadata };
    } else if (op === 'run') {
      const feeds = {};
      for (const [name, t] of Object.entries(args.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const out = await sessions.get(args.handle).run(feeds);
      result = {};
      for (const [name, t] of Object.entries(out)) result[name] = plain(t);
    } else if (op === 'release') {
      await sessions.get(args.handle)?.release();
      sessions.delete(args.handle);
    }
    parentPort.postMessage({ id, result });
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

type Reply = { id: number; result?: unknown; error?: string };

/**
 * ONNX Runtime in a worker thread. `InferenceSession.create` of onnxruntime-node runs on
 * the calling thread and blocks it for the whole graph load and optimisation (~400 ms for
 * a 67 MB graph saved after optimisation, measured as the event loop's longest pause);
 * in a worker, a process that serves requests keeps answering them meanwhile (its longest
 * pause stayed under 10 ms). The worker is unref'd: it never keeps a process alive.
 *
 * @example
 * const ort = OrtWorker.start();
 * const s = await ort.create('/mnt/models/m/1/onnx/model.onnx', { graphOptimizationLevel: 'all' });
 * await ort.run(s.handle, feeds); // => { logits: { type: 'float32', dims: [2, 2], data: Float32Array(4) } }
 * await ort.close();
 */
export class OrtWorker {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const call = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.error !== undefined) call?.reject(new Error(reply.error));
      else call?.resolve(reply.result);
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const call of this.pending.values()) call.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the ONNX Runtime worker exited (code ${code})`)));
  }

  static start(): OrtWorker {
    // Resolved from this module, as the functions' own import of onnxruntime-node is.
    const ort = createRequire(import.meta.url).resolve('onnxruntime-node');
    // A worker inherits the process's flags, and `--input-type=module` (a `node -e` script's)
    // would evaluate this CommonJS source as an ES module: `require` undefined, no worker.
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--input-type'));
    return new OrtWorker(new Worker(WORKER_SOURCE, { eval: true, execArgv, workerData: { ort } }));
  }

  create(path: string, options: InferenceSession.SessionOptions): Promise<WorkerSession> {
    return this.call('create', { path, options }) as Promise<WorkerSession>;
  }

  run(handle: number, feeds: Record<string, TensorData>): Promise<Record<string, TensorData>> {
    return this.call('run', { handle, feeds }) as Promise<Record<string, TensorData>>;
  }

  release(handle: number): Promise<void> {
    return this.call('release', { handle }) as Promise<void>;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private call(op: string, args: unknown): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
  }
}
