import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Capability } from '#functions/routes.ts';
import { type MetadataStream, STREAMING } from './lambda-shim.ts';
import type { ProxyHandler, StreamingHandler } from './server.ts';

/** Emulator → instance: one invocation. */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  event: APIGatewayProxyEvent;
  timeoutMs: number;
}

/** Emulator → instance: the client of a streamed invocation went away; close its response stream. */
export interface AbortMessage {
  type: 'abort';
  id: number;
}

export type EmulatorMessage = InvokeMessage | AbortMessage;

interface Usage {
  /** The invocation's duration inside the instance (what Lambda bills, times memory). */
  durationMs: number;
  /** CPU time the instance spent on it, all threads (ONNX Runtime's pool included). */
  cpuMs: number;
}

/** Instance → emulator. */
export type InstanceMessage =
  | { type: 'ready' }
  /** The instance has the invocation (Lambda's runtime has fetched the event). */
  | { type: 'taken'; id: number }
  | ({ type: 'result'; id: number; result: APIGatewayProxyResult } & Usage)
  | { type: 'head'; id: number; metadata: AwsLambdaResponseMetadata }
  | { type: 'chunk'; id: number; data: Uint8Array }
  | { type: 'end'; id: number }
  | ({ type: 'done'; id: number } & Usage)
  | ({ type: 'failed'; id: number; message: string } & Usage);

/** The function failed or timed out: API Gateway answers 502 (the emulator's catch). */
export class FunctionError extends Error {}

/**
 * The instance died before it took the invocation (killed while idle, its exit not yet
 * seen when the invocation was sent): the event reached no handler, so it goes to another
 * instance. In Lambda a runtime pulls its next event; a dead one pulls none.
 */
class NotTakenError extends FunctionError {}
/** How many instances an invocation is offered to before it fails (each one died before taking it). */
const MAX_DELIVERIES = 3;

export interface InstancePoolOptions {
  fn: Capability;
  /** The most instances of this function at once (its concurrency limit). */
  size: number;
  /** The handler module each instance imports: TypeScript source or an esbuild bundle. */
  entry: string;
  /** The instances' environment (the function's configuration). */
  env: Record<string, string | undefined>;
  /** The function timeout: an invocation still running after it is killed with its instance. */
  timeoutMs: number;
  /**
   * An instance's stdout (its log stream: log and EMF lines): the emulator's own by
   * default, each line to a function, or nowhere. Its stderr is the emulator's, or nowhere.
   */
  onStdout?: 'inherit' | 'ignore' | ((line: string) => void);
}

export interface InstanceStats {
  /** Instances started (each one a cold start). */
  started: number;
  invocations: number;
  /** Invocations that waited for a busy instance. */
  queued: number;
  /** Sum over invocations of their duration and CPU time (see Usage). */
  durationMs: number;
  cpuMs: number;
  /** Sum over invocations of their duration rounded up to the millisecond: Lambda's billed duration. */
  billedMs: number;
  /** Time from spawn to the handler module imported, per instance started. */
  initMs: number[];
}

/** What the instance is asked to do while it serves one invocation. */
interface Current {
  id: number;
  onMessage: (message: InstanceMessage) => void;
  fail: (error: Error) => void;
}

class Instance {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  current: Current | undefined;
  dead = false;

  constructor(options: InstancePoolOptions, stats: InstanceStats, onExit: (instance: Instance) => void) {
    this.child = fork(path.join(import.meta.dirname, 'instance.ts'), [options.entry, `local-${options.fn}`], {
      env: options.env,
      // The instance runs TypeScript: the same loader as the emulator (tsx), whether or not
      // the emulator itself was started through it.
      execArgv: ['--import', import.meta.resolve('tsx'), '--enable-source-maps'],
      serialization: 'advanced',
      stdio: [
        'ignore',
        typeof options.onStdout === 'function' ? 'pipe' : (options.onStdout ?? 'inherit'),
        options.onStdout === 'ignore' ? 'ignore' : 'inherit',
        'ipc',
      ],
    });
    const onLine = options.onStdout;
    if (typeof onLine === 'function' && this.child.stdout) {
      createInterface({ input: this.child.stdout, crlfDelay: Number.POSITIVE_INFINITY }).on('line', onLine);
    }
    this.ready = new Promise<void>((resolve, reject) => {
      const started = performance.now();
      const early = () => reject(new FunctionError(`${options.fn}: the instance exited during init`));
      this.child.once('exit', early);
      this.child.once('message', (message: InstanceMessage) => {
        this.child.off('exit', early);
        if (message.type !== 'ready') return reject(new FunctionError(`${options.fn}: unexpected ${message.type}`));
        stats.initMs.push(performance.now() - started);
        resolve();
      });
    });
    this.ready.catch(() => undefined);
    this.child.on('message', (message: InstanceMessage) => {
      if (message.type !== 'ready' && message.id === this.current?.id) this.current.onMessage(message);
    });
    this.child.on('exit', (code, signal) => {
      this.dead = true;
      this.current?.fail(new FunctionError(`the instance exited (${signal ?? code}) during the invocation`));
      onExit(this);
    });
  }

  kill(): void {
    this.dead = true;
    this.child.kill('SIGKILL');
  }
}

/** A send to an instance that has just died: its 'exit' handler reports the invocation's failure. */
const ignoreSendError = (): void => undefined;

/**
 * A pool of emulated Lambda instances of one function: separate processes, each serving
 * one invocation at a time (a Lambda execution environment's concurrency is one), started
 * on demand up to `size` (each start is a cold start: process, init, lazy model load), and
 * reused while warm. When all are busy, invocations wait in arrival order, as requests do
 * behind a function at its concurrency limit, so none starves.
 *
 * `handler()` gives the emulator a function it calls like the in-process handler.
 *
 * @example
 * const pool = new InstancePool({ fn: 'predict', size: 2, entry: 'functions/predict/handler.ts', env: process.env, timeoutMs: 28_000 });
 * const handler = pool.handler(false); // (event, context) => Promise<APIGatewayProxyResult>
 */
export class InstancePool {
  readonly stats: InstanceStats = {
    started: 0,
    invocations: 0,
    queued: 0,
    durationMs: 0,
    cpuMs: 0,
    billedMs: 0,
    initMs: [],
  };
  private readonly instances = new Set<Instance>();
  private readonly idle: Instance[] = [];
  private readonly waiting: Array<{ resolve: (instance: Instance) => void; reject: (error: Error) => void }> = [];
  private nextId = 1;
  /** Invocations running or waiting for an instance. */
  private active = 0;
  private onDrained: Array<() => void> = [];
  private closed = false;

  constructor(private readonly options: InstancePoolOptions) {}

  /** Process ids of the live instances (the bench reads their CPU time). */
  pids(): number[] {
    return [...this.instances].map((i) => i.child.pid).filter((p): p is number => p !== undefined);
  }

  private spawn(): Instance {
    const instance = new Instance(this.options, this.stats, (gone) => {
      this.instances.delete(gone);
      const at = this.idle.indexOf(gone);
      if (at >= 0) this.idle.splice(at, 1);
      // A waiter may now start a fresh instance in the freed slot.
      if (!this.closed && this.waiting.length > 0) this.waiting.shift()!.resolve(this.spawn());
    });
    this.instances.add(instance);
    this.stats.started += 1;
    return instance;
  }

  private acquire(): Promise<Instance> {
    if (this.closed) return Promise.reject(new FunctionError(`${this.options.fn}: the emulator is closing`));
    const warm = this.idle.pop();
    if (warm) return Promise.resolve(warm);
    if (this.instances.size < this.options.size) return Promise.resolve(this.spawn());
    this.stats.queued += 1;
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(instance: Instance): void {
    if (instance.dead) return;
    const next = this.waiting.shift();
    if (next) next.resolve(instance);
    else this.idle.push(instance);
  }

  /**
   * Runs one invocation on an instance. `onMessage` sees every message of it; the
   * promise settles on its last one (`result`, `done` or `failed`), on the instance's
   * death, or at the function timeout (which kills the instance, as Lambda does).
   */
  private async invoke(
    event: APIGatewayProxyEvent,
    onMessage: (message: InstanceMessage) => void,
    gone?: AbortSignal,
  ): Promise<void> {
    this.active += 1;
    try {
      for (let delivery = 1; ; delivery++) {
        try {
          await this.invokeOnInstance(await this.acquire(), event, onMessage, gone);
          return;
        } catch (error) {
          if (!(error instanceof NotTakenError) || delivery >= MAX_DELIVERIES) throw error;
        }
      }
    } finally {
      this.active -= 1;
      if (this.active === 0) for (const resolve of this.onDrained.splice(0)) resolve();
    }
  }

  private async invokeOnInstance(
    instance: Instance,
    event: APIGatewayProxyEvent,
    onMessage: (message: InstanceMessage) => void,
    gone?: AbortSignal,
  ): Promise<void> {
    try {
      await instance.ready.catch((error: unknown) => {
        instance.kill();
        throw error;
      });
      const id = this.nextId++;
      let taken = false;
      await new Promise<void>((resolve, reject) => {
        // A little grace over the function timeout: the handler answers before its deadline itself.
        const timer = setTimeout(() => {
          instance.kill();
          reject(new FunctionError(`${this.options.fn}: the invocation timed out after ${this.options.timeoutMs} ms`));
        }, this.options.timeoutMs + 1000);
        const settle = (error?: Error) => {
          clearTimeout(timer);
          instance.current = undefined;
          if (error) reject(error);
          else resolve();
        };
        instance.current = {
          id,
          fail: (error) => settle(taken ? error : new NotTakenError(error.message)),
          onMessage: (message) => {
            if (message.type === 'taken') {
              taken = true;
              this.stats.invocations += 1;
              return;
            }
            if (message.type === 'result' || message.type === 'done' || message.type === 'failed') {
              this.stats.durationMs += message.durationMs;
              this.stats.cpuMs += message.cpuMs;
              this.stats.billedMs += Math.ceil(message.durationMs);
            }
            onMessage(message);
            if (message.type === 'failed') settle(new FunctionError(`${this.options.fn}: ${message.message}`));
            else if (message.type === 'result' || message.type === 'done') settle();
          },
        };
        // An instance killed just before this send fails it with EPIPE; without a callback that
        // is an 'error' event nobody handles. Its 'exit' fails the invocation (redelivered, untaken).
        instance.child.send(
          { type: 'invoke', id, event, timeoutMs: this.options.timeoutMs } satisfies InvokeMessage,
          ignoreSendError,
        );
        // The client left: the instance closes the invocation's response stream, as Lambda's
        // does, so the function's signal aborts there (an in-process function sees it itself).
        const abort = () => {
          if (instance.current?.id === id && !instance.dead)
            instance.child.send({ type: 'abort', id } satisfies AbortMessage, ignoreSendError);
        };
        if (gone?.aborted) abort();
        else gone?.addEventListener('abort', abort, { once: true });
      });
    } finally {
      this.release(instance);
    }
  }

  /** The function as the emulator calls it: buffered, or response streaming. */
  handler(streaming: boolean): ProxyHandler | StreamingHandler {
    if (!streaming) {
      return async (event: APIGatewayProxyEvent, _context: Context) => {
        let result: APIGatewayProxyResult | undefined;
        await this.invoke(event, (message) => {
          if (message.type === 'result') result = message.result;
        });
        if (!result) throw new FunctionError(`${this.options.fn}: no result`);
        return result;
      };
    }
    const streamed = async (event: APIGatewayProxyEvent, stream: MetadataStream, _context: Context) => {
      // The emulator destroys the stream when the client goes away before its end.
      const gone = new AbortController();
      stream.once('close', () => {
        if (!stream.writableFinished) gone.abort();
      });
      await this.invoke(
        event,
        (message) => {
          if (stream.destroyed) return;
          if (message.type === 'head') stream.setMetadata?.(message.metadata);
          else if (message.type === 'chunk') stream.write(Buffer.from(message.data));
          else if (message.type === 'end') stream.end();
        },
        gone.signal,
      );
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    };
    return Object.assign(streamed, { [STREAMING]: true as const });
  }

  /**
   * Stops every instance (the waiting invocations fail): SIGTERM first, as Lambda ends an
   * execution environment, then SIGKILL for one that has not exited within a second.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0))
      waiter.reject(new FunctionError(`${this.options.fn}: the emulator is closing`));
    await Promise.all(
      [...this.instances].map(async (i) => {
        if (i.child.exitCode !== null || i.child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => i.child.once('exit', () => resolve()));
        i.child.kill('SIGTERM');
        const timer = setTimeout(() => i.kill(), 1000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** Resolves once no invocation is running or waiting (the bench drains before it closes). */
  drained(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.onDrained.push(resolve));
  }
}
