import { randomUUID } from 'node:crypto';
import { logger } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import type { Task } from '#runtime/manifest.ts';
import type { Breaker } from './breaker.ts';
import {
  type DocumentSender,
  dynamoSdk,
  isConditionalCheckFailed,
  requestPathBreaker,
  requestPathClient,
} from './dynamo.ts';
import { modelStatesLine } from './log.ts';
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
/** This process's model events so far: each item's `seq`, which orders one holder's items. */
let sequence = 0;
/**
 * Names the function this process serves (`bindRoutes` calls it), so shared states say which
 * function holds a model. The in-process emulator imports every function into one process
 * that shares one model cache: its models are then reported as held by `local`.
 */
export const reportAs = (fn: string): void => {
  reporter = reporter === undefined || reporter === fn ? fn : 'local';
};

/** Who holds a copy: `<function>/<instance id>` (this process's instance id by default). */
const holderOf = (instance: string = INSTANCE_ID): string => `${reporter ?? 'unknown'}/${instance}`;

/**
 * The model-state item of a change of a holder's copy of a model. `seq` numbers this
 * process's items, so the ingester can tell a holder's newer item from an older one.
 */
export const modelStateItem = (
  event: ModelEvent,
  at: { holder: string; nowMs: number; ttlSeconds: number },
): Record<string, unknown> => {
  const k = MODEL_STATE_TABLE_KEYS;
  sequence += 1;
  return {
    [k.partitionKey]: event.key,
    [k.sortKey]: at.holder,
    state: event.kind,
    seq: sequence,
    ...(event.kind === 'evicted' ? {} : { task: event.task }),
    updatedAt: new Date(at.nowMs).toISOString(),
    [k.ttlAttribute]: Math.floor(at.nowMs / 1000) + at.ttlSeconds,
    ...(event.kind === 'loaded'
      ? { loadMs: Math.round(event.loadMs), memoryBytes: event.memoryBytes }
      : event.kind === 'failed'
        ? { error: event.error.slice(0, 500) }
        : {}),
  };
};

/**
 * Loaded-state of models shared by every instance of every function: one item per
 * `name@version` and holder (`<function>/<instance>`) in the model-state table, for
 * `/models/{model}/status`; readers Query by model. The serving functions do not write it:
 * each change of a holder's copy (loading, loaded, failed, evicted) is printed as an item on
 * a records line (`reportModelEvent`), and the records ingester puts it (`apply`), so a
 * function reaches no DynamoDB endpoint and builds no SDK client for it on the way to an
 * answer (a cold start's first request did both: 40 ms of detect's first answer).
 *
 * Lines can reach the ingester out of order (CloudWatch delivers a log stream in batches that
 * may run concurrently): each item carries its holder's sequence number and a put only
 * replaces an older one. An eviction is an item too (state `evicted`, which readers skip),
 * so a late `loaded` cannot bring back a copy already gone. Items expire by TTL after their
 * last change: an instance that dies without evicting (Lambda reclaims it silently) stops
 * counting within `ttlSeconds`; the price is that a model loaded longer ago than that by a
 * still-warm instance reads as `available`.
 *
 * @example
 * const item = states.item({ kind: 'loaded', key: 'lid176@1', task: 'language-identification', loadMs: 40 });
 * await states.apply([item]); (await states.read('lid176@1'))?.status; // => 'loaded'
 */
export class ModelStateStore {
  constructor(
    private readonly deps: {
      client: DocumentSender;
      table: string;
      ttlSeconds: number;
      instance?: string;
      now?: () => number;
      /** Skips the table for a while after a read timed out (status answers from this instance alone). */
      breaker?: Breaker;
    },
  ) {}

  private get holder(): string {
    return holderOf(this.deps.instance);
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The table item of a change of this process's copy of a model (what `apply` puts). */
  item(event: ModelEvent): Record<string, unknown> {
    return modelStateItem(event, { holder: this.holder, nowMs: this.now(), ttlSeconds: this.deps.ttlSeconds });
  }

  /**
   * Puts items (`item`), each only over an older one of its holder (lower `seq`): a line
   * delivered late changes nothing. Returns how many were put; stale ones are skipped, and
   * a failed put is logged and skipped (status is best effort, records are not held up).
   */
  async apply(items: readonly Record<string, unknown>[]): Promise<number> {
    let put = 0;
    const { PutCommand } = await dynamoSdk();
    for (const item of items) {
      try {
        await this.deps.client.send(
          new PutCommand({
            TableName: this.deps.table,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
            ExpressionAttributeNames: { '#seq': 'seq' },
            ExpressionAttributeValues: { ':seq': item.seq },
          }),
        );
        put += 1;
      } catch (error) {
        if (isConditionalCheckFailed(error)) continue;
        logger.warn('model state not shared', {
          model: item[MODEL_STATE_TABLE_KEYS.partitionKey],
          event: item.state,
          error: errorMessage(error),
        });
      }
    }
    return put;
  }

  /** The shared state of `name@version`, or undefined when no instance reported it within the TTL. */
  async read(key: string): Promise<SharedModelState | undefined> {
    const k = MODEL_STATE_TABLE_KEYS;
    const now = Math.floor(this.now() / 1000);
    const items: Record<string, unknown>[] = [];
    const { QueryCommand } = await dynamoSdk();
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
      items.push(...(out.Items ?? []).filter((i) => Number(i[k.ttlAttribute]) > now && i.state !== 'evicted'));
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
      client: requestPathClient(c),
      table: c.MODEL_STATE_TABLE,
      ttlSeconds: c.MODEL_STATE_TTL_SECONDS,
      breaker: requestPathBreaker,
    });
  }
  return shared;
};

/**
 * Reports a model event without waiting, without failing the load and without DynamoDB:
 * one records line on stdout (the function's log stream), which the ingester applies
 * (`ModelStateStore.apply`). No store and no SDK client is built for it.
 */
export const reportModelEvent = (
  event: ModelEvent,
  print: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): void => {
  const item = modelStateItem(event, {
    holder: holderOf(),
    nowMs: Date.now(),
    ttlSeconds: config().MODEL_STATE_TTL_SECONDS,
  });
  print(modelStatesLine([item]));
};
