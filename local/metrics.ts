import { AsyncLocalStorage } from 'node:async_hooks';
import type { ServerResponse } from 'node:http';
import type { Capability, RouteDef } from '#functions/routes.ts';
import {
  API_NAMESPACE,
  apiPanels,
  COLD_START_FUNCTION_DIMENSION,
  functionPanels,
  LAMBDA_NAMESPACE,
  type MetricRef,
  metricLabel,
  type RouteRef,
  type Statistic,
} from '#observability/dashboard.ts';
import { MetricName } from '#observability/names.ts';
import { percentile } from '#predictions/analytics.ts';
import { RECORDS_LINE_PREFIX } from '#predictions/log.ts';
import { STREAMING } from './lambda-shim.ts';
import type { MetricsView, PanelView, SeriesView } from './metrics-view.ts';
import type { LocalFunction, LocalRoute, ProxyHandler, StreamingHandler } from './server.ts';

/**
 * The local metrics view's data: every EMF document the handlers print (Powertools
 * metrics, captured from stdout in the emulator's process), plus the metrics Lambda and
 * API Gateway would publish for each invocation and request (Invocations, Errors,
 * Duration; Count, 4XXError, 5XXError, Latency per route), kept in memory and aggregated
 * into the panels of `layers/observability/dashboard.ts` with CloudWatch's statistics.
 */

/** An Embedded Metric Format document, as CloudWatch Logs ingests it. */
export interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }>;
  };
  [key: string]: unknown;
}

/** One metric datum set: what one EMF document (or one invocation) says. */
export interface Sample {
  at: number;
  /** The function whose invocation emitted it (all functions share one process locally). */
  fn?: LocalFunction;
  /** A handler's EMF line, or what the emulator records in place of AWS. */
  origin: 'emf' | 'emulator';
  namespace: string;
  dimensions: Record<string, string>;
  values: Record<string, number[]>;
}

/** The API name and stage the emulator's API Gateway records carry. */
const LOCAL_API = { ApiName: 'local', Stage: 'local' };
const DEFAULT_CAPACITY = 100_000;
const MAX_BUCKETS = 720;
/** EMF lines kept unparsed at most (`MetricsCollector.addLine`). */
const MAX_PENDING_LINES = 1000;

/** CloudWatch's statistics over raw values (percentiles by nearest rank). */
export const statisticOf = (values: readonly number[], statistic: Statistic): number | null => {
  if (values.length === 0) return null;
  if (statistic === 'Sum') return values.reduce((a, b) => a + b, 0);
  if (statistic === 'Average') return values.reduce((a, b) => a + b, 0) / values.length;
  if (statistic === 'Maximum') return Math.max(...values);
  return percentile(
    [...values].sort((a, b) => a - b),
    Number(statistic.slice(1)),
  );
};

/** The samples of an EMF document: one per metric directive. */
export const samplesOfEmf = (doc: EmfDocument, fn?: LocalFunction): Sample[] =>
  doc._aws.CloudWatchMetrics.map((directive) => {
    const dimensions: Record<string, string> = {};
    for (const name of directive.Dimensions.flat()) dimensions[name] = String(doc[name]);
    const values: Record<string, number[]> = {};
    for (const { Name } of directive.Metrics) {
      const v = doc[Name];
      values[Name] = (Array.isArray(v) ? v : [v]).filter((x): x is number => typeof x === 'number');
    }
    return { at: doc._aws.Timestamp, fn, origin: 'emf' as const, namespace: directive.Namespace, dimensions, values };
  });

const isEmf = (value: unknown): value is EmfDocument =>
  typeof value === 'object' &&
  value !== null &&
  Array.isArray((value as Partial<EmfDocument>)._aws?.CloudWatchMetrics) &&
  typeof (value as Partial<EmfDocument>)._aws?.Timestamp === 'number';

/** A group of samples `view` reads a series from: source and function, or the API (whole, or one route). */
const groupKey = (source: MetricRef['source'], fn?: string, route?: RouteRef): string =>
  [source, fn ?? '', route?.method ?? '', route?.path ?? ''].join('\u0000');

/** The in-memory metric store (bounded: the oldest samples go first). */
export class MetricsCollector {
  private samples: Sample[] = [];
  /** EMF lines taken and not yet parsed (`addLine`). */
  private pending: Array<{ line: string; fn: LocalFunction | undefined }> = [];
  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  add(...samples: Sample[]): void {
    this.samples.push(...samples);
    // Trimmed a tenth at a time: a slice on every add past the bound would copy the whole
    // store per request once it is full.
    if (this.samples.length > this.capacity * 1.1) this.samples = this.samples.slice(-this.capacity);
  }

  /**
   * Takes one stdout line if it looks like an EMF document (a JSON object naming
   * `CloudWatchMetrics`); true when it does. The line is parsed when the samples are next
   * read, not here: this runs inside the function's `write`, on the request's path, where
   * in AWS a log line costs the function one write and CloudWatch parses it later. A line
   * that then turns out not to be EMF is dropped.
   */
  addLine(line: string, fn?: LocalFunction): boolean {
    if (!line.startsWith('{') || !line.includes('"CloudWatchMetrics"')) return false;
    this.pending.push({ line, fn });
    if (this.pending.length >= MAX_PENDING_LINES) this.parsePending();
    return true;
  }

  private parsePending(): void {
    const lines = this.pending;
    this.pending = [];
    for (const { line, fn } of lines) {
      let doc: unknown;
      try {
        doc = JSON.parse(line);
      } catch {
        continue;
      }
      if (isEmf(doc)) this.add(...samplesOfEmf(doc, fn));
    }
  }

  get size(): number {
    this.parsePending();
    return this.samples.length;
  }

  /**
   * The dashboard's panels over `[from, to)` in buckets of `periodSeconds` (longer when
   * the window would need more than 720): one set per function that has routes, then the API's.
   *
   * @example
   * collector.view({ routes: ROUTES, appNamespace: 'HfServe', periodSeconds: 60, from, to }).panels[0]?.title; // => 'predict: invocations, errors, throttles'
   */
  view(q: {
    routes: readonly RouteDef[];
    appNamespace: string;
    periodSeconds: number;
    from: number;
    to: number;
  }): MetricsView {
    // A long window at a short period gets a longer period: at most MAX_BUCKETS points a line.
    this.parsePending();
    const periodSeconds = Math.max(q.periodSeconds, Math.ceil((q.to - q.from) / 1000 / MAX_BUCKETS));
    const periodMs = periodSeconds * 1000;
    const first = Math.floor(q.from / periodMs) * periodMs;
    const starts: number[] = [];
    for (let t = first; t < q.to; t += periodMs) starts.push(t);
    const inWindow = this.samples.filter((s) => s.at >= q.from && s.at < q.to);
    // The window's samples grouped once by what a series selects (its source and function,
    // or its route): each of the ~100 series then reads its own group, not the whole window.
    const groups = new Map<string, Sample[]>();
    const group = (key: string, s: Sample) => {
      const list = groups.get(key);
      if (list) list.push(s);
      else groups.set(key, [s]);
    };
    for (const s of inWindow) {
      if (s.namespace === q.appNamespace) group(groupKey('app', s.fn), s);
      else if (s.namespace === LAMBDA_NAMESPACE) group(groupKey('lambda', s.fn), s);
      else if (s.namespace === API_NAMESPACE) {
        // The API-wide metric aggregates every request, as API Gateway publishes it beside the per-method ones.
        group(groupKey('api'), s);
        const { Method: method, Resource: path } = s.dimensions;
        if (method && path) group(groupKey('api', undefined, { method, path }), s);
      }
    }
    const series = (m: MetricRef, axis: 'left' | 'right', fn?: Capability): SeriesView => {
      if (m.source === 'ratio') return ratioSeries(m, axis, groups.get(groupKey('app', fn)) ?? []);
      const buckets = starts.map((): number[] => []);
      const key = m.source === 'api' ? groupKey('api', undefined, m.route) : groupKey(m.source, fn);
      for (const s of groups.get(key) ?? []) {
        if (m.name in s.values) buckets[Math.floor((s.at - first) / periodMs)]?.push(...s.values[m.name]!);
      }
      return {
        label: metricLabel(m),
        axis,
        metric: m,
        points: starts.map((start, i) => [start, statisticOf(buckets[i]!, m.statistic)]),
        value: statisticOf(buckets.flat(), m.statistic),
      };
    };
    /** `100 × part / (part + rest)` per bucket and over the window; null without either. */
    const ratioSeries = (
      m: Extract<MetricRef, { source: 'ratio' }>,
      axis: 'left' | 'right',
      samples: Sample[],
    ): SeriesView => {
      const sums = starts.map(() => ({ part: 0, rest: 0 }));
      for (const s of samples) {
        const bucket = sums[Math.floor((s.at - first) / periodMs)];
        if (!bucket) continue;
        for (const v of s.values[m.part] ?? []) bucket.part += v;
        for (const v of s.values[m.rest] ?? []) bucket.rest += v;
      }
      const rate = ({ part, rest }: { part: number; rest: number }) =>
        part + rest > 0 ? (100 * part) / (part + rest) : null;
      const total = sums.reduce((t, b) => ({ part: t.part + b.part, rest: t.rest + b.rest }), { part: 0, rest: 0 });
      return {
        label: metricLabel(m),
        axis,
        metric: m,
        points: starts.map((start, i) => [start, rate(sums[i]!)]),
        value: rate(total),
      };
    };
    const functions = [...new Set(q.routes.map((r) => r.fn))];
    const panels: PanelView[] = [
      ...functions.flatMap((fn) =>
        functionPanels(fn).map((p) => ({
          id: p.id,
          title: p.title,
          fn,
          series: [...p.left.map((m) => series(m, 'left', fn)), ...p.right.map((m) => series(m, 'right', fn))],
        })),
      ),
      ...apiPanels(q.routes).map((p) => ({
        id: p.id,
        title: p.title,
        series: [...p.left.map((m) => series(m, 'left')), ...p.right.map((m) => series(m, 'right'))],
      })),
    ];
    return {
      from: q.from,
      to: q.to,
      periodSeconds,
      samples: inWindow.length,
      emfSamples: inWindow.filter((s) => s.origin === 'emf').length,
      panels,
    };
  }
}

/** Which function's invocation is running: EMF printed inside it is that function's. */
const invocation = new AsyncLocalStorage<LocalFunction>();

type Handler = ProxyHandler | StreamingHandler;

/**
 * Wraps a function's handler so each invocation records what Lambda would publish for it
 * (`AWS/Lambda` Invocations, Errors, Duration, dimension FunctionName) and runs in the
 * function's context for the EMF it prints. Unless the function reports its own cold
 * starts, the first invocation also records the function's ColdStart: Powertools
 * publishes it only under Lambda's `AWS_LAMBDA_INITIALIZATION_TYPE=on-demand`, and once
 * per process, where in process every function is its own container in one process.
 * Instance processes (LOCAL_FUNCTION_CONCURRENCY) run under `on-demand` and report one
 * per instance through their EMF, as Lambda's execution environments do.
 */
export const instrumentHandler = <H extends Handler>(
  fn: LocalFunction,
  handler: H,
  collector: MetricsCollector,
  app: { namespace: string; service: string; ownColdStarts?: boolean },
): H => {
  let cold = !app.ownColdStarts;
  const wrapped = async (...args: unknown[]) => {
    const started = performance.now();
    if (cold) {
      cold = false;
      collector.add({
        at: Date.now(),
        fn,
        origin: 'emulator',
        namespace: app.namespace,
        dimensions: { service: app.service, [COLD_START_FUNCTION_DIMENSION]: `local-${fn}` },
        values: { [MetricName.ColdStart]: [1] },
      });
    }
    let failed = 0;
    try {
      return await invocation.run(fn, () => (handler as (...a: unknown[]) => Promise<unknown>)(...args));
    } catch (error) {
      failed = 1;
      throw error;
    } finally {
      collector.add({
        at: Date.now(),
        fn,
        origin: 'emulator',
        namespace: LAMBDA_NAMESPACE,
        dimensions: { FunctionName: `local-${fn}` },
        values: { Invocations: [1], Errors: [failed], Duration: [performance.now() - started] },
      });
    }
  };
  return Object.assign(wrapped, STREAMING in handler ? { [STREAMING]: true } : {}) as unknown as H;
};

/**
 * Records what API Gateway would publish for one request once it is answered
 * (`AWS/ApiGateway` Count, 4XXError, 5XXError, Latency; per route when one matched).
 */
export const observeRequest = (
  res: ServerResponse,
  route: LocalRoute | undefined,
  method: string,
  collector: MetricsCollector,
): void => {
  const started = performance.now();
  res.once('finish', () => {
    const status = res.statusCode;
    collector.add({
      at: Date.now(),
      origin: 'emulator',
      namespace: API_NAMESPACE,
      dimensions: { ...LOCAL_API, ...(route ? { Method: method, Resource: route.path } : {}) },
      values: {
        Count: [1],
        '4XXError': [status >= 400 && status < 500 ? 1 : 0],
        '5XXError': [status >= 500 ? 1 : 0],
        Latency: [performance.now() - started],
      },
    });
  });
};

/**
 * Prints a line of a function instance's stdout (LOCAL_FUNCTION_CONCURRENCY) as if the
 * function printed it in this process: EMF lines reach the collector under its name.
 */
export const printAs = (fn: Capability, line: string): void => {
  invocation.run(fn, () => process.stdout.write(`${line}\n`));
};

type Write = (chunk: string | Uint8Array, ...rest: unknown[]) => boolean;

/**
 * A stdout `write` that gives EMF lines to the collector (under the function whose
 * invocation printed them) and passes them on to `write` only while `state.echo`, and
 * gives prediction records lines to `state.records` (the local ingestion, never echoed);
 * every other line goes through untouched.
 */
export const emfTee =
  (write: Write, state: Capture): Write =>
  (chunk, ...rest) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const emf = text.includes('"CloudWatchMetrics"');
    const records = state.records !== undefined && text.includes(RECORDS_LINE_PREFIX);
    if (!emf && !records) return write(chunk, ...rest);
    const fn = invocation.getStore();
    const lines = text.split('\n');
    const kept = lines.filter((line) => {
      if (records && line.startsWith(RECORDS_LINE_PREFIX)) {
        state.records?.(line);
        return false;
      }
      return !(emf && state.collector.addLine(line, fn)) || state.echo;
    });
    if (kept.length === lines.length) return write(chunk, ...rest);
    const remainder = kept.join('\n');
    if (remainder.trim()) return write(remainder, ...rest);
    const callback = rest.find((r): r is () => void => typeof r === 'function');
    callback?.();
    return true;
  };

interface Capture {
  collector: MetricsCollector;
  echo: boolean;
  records?: (line: string) => void;
}
let capture: Capture | undefined;

/** Where the records lines printed in this process go (the running stack's feed), or back to stdout. */
export const captureRecords = (sink: ((line: string) => void) | undefined): void => {
  if (!capture) throw new Error('captureEmf first: the records tee is the EMF one');
  capture.records = sink;
};

/**
 * Tees the process's stdout into one process-wide collector (`emfTee`). Installed once;
 * later calls only set `echo`.
 */
export const captureEmf = (options: { echo: boolean }): MetricsCollector => {
  if (!capture) {
    const state: Capture = { collector: new MetricsCollector(), echo: options.echo };
    // Node's overloads of write cannot be named one by one here; the tee accepts all of them.
    process.stdout.write = emfTee(
      process.stdout.write.bind(process.stdout) as Write,
      state,
    ) as typeof process.stdout.write;
    capture = state;
  }
  capture.echo = options.echo;
  return capture.collector;
};
