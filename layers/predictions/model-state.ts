import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { logger } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import type { Task } from '#runtime/manifest.ts';
import type { Breaker } from './breaker.ts';
import { makeDocumentClient, REQUEST_PATH_CLIENT, requestPathBreaker } from './client.ts';
import { MODEL_STATE_TABLE_KEYS } from './schema.ts';

/** What one model is doing across the warm instances of every function, as `/models/{model}/status` says it. */
export type ModelStatus = 'loaded' | 'available' | 'loading' | 'failed';

/** A change of one instance's copy of a model (`name@version`). */
export type ModelEvent =
  | { kind: 'loading'; key: string; task: Task }
  | { kind: 'loaded'; key: string; task: Task; loadMs: number; memoryBytes?: number }
  | { kind: 'failed'; key: string; task: Task; error: string }
  | { kind: 'evicted'; key: string };

export interface SharedModelState {
  status: ModelStatus;
  task?: Task;
  loadMs?: number;
  memoryBytes?: number;
  /** How many instances reported the model loaded (and have not evicted it) within the TTL. */
  instances: number;
  /** Who holds it loaded: `<function>/<instance id>`. */
  loadedBy: string[];
  updatedAt?: string;
}

/** This process: one id per Lambda instance (execution environment). */
export const INSTANCE_ID = randomUUID();

let reporter: string | undefined;
/**
 * Names the function this process serves (`bindRoutes` calls it), so shared states say which
 * function holds a model. The in-process emulator imports every function into one process
 * that shares one model cache: its models are then reported as held by `local`.
 */
export const reportAs = (fn: string): void => {
  reporter = reporter === undefined || reporter === fn ? fn : 'local';
};

/**
 * Loaded-state of models shared by every instance of every function: one item per
 * `name@version` and holder (`<function>/<instance>`) in the model-state table, put when
 * the holder's copy starts loading, loads or fails and deleted when it is evicted (one
 * BatchWriteItem each, from the model cache's hooks, off the response path); readers Query
 * by model. Items expire by TTL after their last change: an instance that dies without
 * evicting (Lambda reclaims it silently) stops counting within `ttlSeconds`; the price is
 * that a model loaded longer ago than that by a still-warm instance reads as `available`.
 *
 * @example
 * await states.report({ kind: 'loaded', key: 'lid176@1', task: 'language-identification', loadMs: 40 });
 * (await states.read('lid176@1'))?.status; // => 'loaded'
 */
export class ModelStateStore {
  constructor(
    private readonly deps: {
      client: DynamoDBDocumentClient;
      table: string;
      ttlSeconds: number;
      instance?: string;
      now?: () => number;
      /** Skips the table for a while after a read timed out (status answers from this instance alone). */
      breaker?: Breaker;
    },
  ) {}

  private get holder(): string {
    return `${reporter ?? 'unknown'}/${this.deps.instance ?? INSTANCE_ID}`;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async report(event: ModelEvent): Promise<void> {
    const k = MODEL_STATE_TABLE_KEYS;
    const key = { [k.partitionKey]: event.key, [k.sortKey]: this.holder };
    const request =
      event.kind === 'evicted'
        ? { DeleteRequest: { Key: key } }
        : {
            PutRequest: {
              Item: {
                ...key,
                state: event.kind,
                task: event.task,
                updatedAt: new Date(this.now()).toISOString(),
                [k.ttlAttribute]: Math.floor(this.now() / 1000) + this.deps.ttlSeconds,
                ...(event.kind === 'loaded'
                  ? { loadMs: Math.round(event.loadMs), memoryBytes: event.memoryBytes }
                  : event.kind === 'failed'
                    ? { error: event.error.slice(0, 500) }
                    : {}),
              },
            },
          };
    await this.deps.client.send(new BatchWriteCommand({ RequestItems: { [this.deps.table]: [request] } }));
  }

  /** The shared state of `name@version`, or undefined when no instance reported it within the TTL. */
  async read(key: string): Promise<SharedModelState | undefined> {
    const k = MODEL_STATE_TABLE_KEYS;
    const now = Math.floor(this.now() / 1000);
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const query = new QueryCommand({
        TableName: this.deps.table,
        KeyConditionExpression: '#m = :m',
        ExpressionAttributeNames: { '#m': k.partitionKey },
        ExpressionAttributeValues: { ':m': key },
        ExclusiveStartKey: start,
      });
      const send = () => this.deps.client.send(query);
      const out = await (this.deps.breaker ? this.deps.breaker.run(send) : send());
      items.push(...(out.Items ?? []).filter((i) => Number(i[k.ttlAttribute]) > now));
      start = out.LastEvaluatedKey;
    } while (start);
    return items.length > 0 ? stateOf(items) : undefined;
  }

  /** The shared states of several `name@version` keys (those reported within the TTL), one Query each. */
  async readMany(keys: readonly string[]): Promise<Map<string, SharedModelState>> {
    const states = await Promise.all(keys.map(async (key) => [key, await this.read(key)] as const));
    return new Map(states.filter((e): e is readonly [string, SharedModelState] => e[1] !== undefined));
  }
}

/** One model's holders' items, latest change each, as one state: any holder loaded wins, then loading, then failed. */
const stateOf = (items: Record<string, unknown>[]): SharedModelState => {
  const k = MODEL_STATE_TABLE_KEYS;
  const with_ = (state: string) => items.filter((i) => i.state === state);
  const loaded = with_('loaded');
  const status: ModelStatus =
    loaded.length > 0
      ? 'loaded'
      : with_('loading').length > 0
        ? 'loading'
        : with_('failed').length > 0
          ? 'failed'
          : 'available';
  const latest = [...(loaded.length > 0 ? loaded : items)].sort((a, b) =>
    String(b.updatedAt).localeCompare(String(a.updatedAt)),
  )[0]!;
  return {
    status,
    task: latest.task as Task | undefined,
    ...(typeof latest.loadMs === 'number' ? { loadMs: latest.loadMs } : {}),
    ...(typeof latest.memoryBytes === 'number' ? { memoryBytes: latest.memoryBytes } : {}),
    instances: loaded.length,
    loadedBy: loaded.map((i) => String(i[k.sortKey])).sort(),
    updatedAt: typeof latest.updatedAt === 'string' ? latest.updatedAt : undefined,
  };
};

let shared: ModelStateStore | undefined;
/** The process-wide store (the model-state table), built on first use. */
export const modelStates = (): ModelStateStore => {
  if (!shared) {
    const c = config();
    shared = new ModelStateStore({
      client: makeDocumentClient(c, REQUEST_PATH_CLIENT),
      table: c.MODEL_STATE_TABLE,
      ttlSeconds: c.MODEL_STATE_TTL_SECONDS,
      breaker: requestPathBreaker,
    });
  }
  return shared;
};

let pending: Promise<void> = Promise.resolve();
/**
 * Reports a model event without waiting and without failing the load: status is best
 * effort. Reports go out one after the other, so a slow `loading` never lands after its `loaded`.
 */
export const reportModelEvent = (event: ModelEvent): void => {
  pending = pending.then(() =>
    modelStates()
      .report(event)
      .catch((error: unknown) =>
        logger.warn('model state not shared', { model: event.key, event: event.kind, error: errorMessage(error) }),
      ),
  );
};
