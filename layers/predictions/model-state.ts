import { randomUUID } from 'node:crypto';
import { BatchGetCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { logger } from '#observability/index.ts';
import { config } from '#runtime/config.ts';
import { errorMessage } from '#runtime/errors.ts';
import type { Task } from '#runtime/manifest.ts';
import { makeDocumentClient, REQUEST_PATH_CLIENT } from './client.ts';
import { RESULT_CACHE_TABLE_KEYS } from './schema.ts';

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
 * `name@version` (`model-state#<key>` in the shared result-cache table) holding the set
 * of instances that have it loaded or loading, updated atomically (`ADD`/`DELETE` on
 * string sets) by the model cache's hooks, off the response path. The item expires by
 * TTL after its last change: an instance that dies without evicting (Lambda reclaims it
 * silently) stops counting within `ttlSeconds`; the price is that a model loaded longer
 * ago than that by a still-warm instance reads as `available`.
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
    },
  ) {}

  private get instance(): string {
    return `${reporter ?? 'unknown'}/${this.deps.instance ?? INSTANCE_ID}`;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async report(event: ModelEvent): Promise<void> {
    const k = RESULT_CACHE_TABLE_KEYS;
    const values: Record<string, unknown> = {
      ':i': new Set([this.instance]),
      ':exp': Math.floor(this.now() / 1000) + this.deps.ttlSeconds,
      ':at': new Date(this.now()).toISOString(),
    };
    const set = ['#exp = :exp', 'updatedAt = :at'];
    let change: string;
    if (event.kind !== 'evicted') {
      set.push('task = :task');
      values[':task'] = event.task;
    }
    switch (event.kind) {
      case 'loading':
        change = 'ADD loadingBy :i';
        break;
      case 'loaded':
        change = 'ADD loadedBy :i DELETE loadingBy :i';
        set.push('loadMs = :ms', 'failedAt = :null');
        values[':ms'] = Math.round(event.loadMs);
        values[':null'] = null;
        if (event.memoryBytes !== undefined) {
          set.push('memoryBytes = :mem');
          values[':mem'] = event.memoryBytes;
        }
        break;
      case 'failed':
        change = 'DELETE loadingBy :i';
        set.push('failedAt = :at', 'lastError = :err');
        values[':err'] = event.error.slice(0, 500);
        break;
      case 'evicted':
        change = 'DELETE loadedBy :i';
        break;
    }
    await this.deps.client.send(
      new UpdateCommand({
        TableName: this.deps.table,
        Key: { [k.partitionKey]: `model-state#${event.key}` },
        UpdateExpression: `SET ${set.join(', ')} ${change}`,
        ExpressionAttributeNames: { '#exp': k.ttlAttribute },
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** The shared state of `name@version`, or undefined when no instance reported it within the TTL. */
  async read(key: string): Promise<SharedModelState | undefined> {
    return (await this.readMany([key])).get(key);
  }

  /** The shared states of several `name@version` keys (those reported within the TTL). */
  async readMany(keys: readonly string[]): Promise<Map<string, SharedModelState>> {
    const k = RESULT_CACHE_TABLE_KEYS;
    const found = new Map<string, SharedModelState>();
    const now = Math.floor(this.now() / 1000);
    for (let start = 0; start < keys.length; start += 100) {
      const out = await this.deps.client.send(
        new BatchGetCommand({
          RequestItems: {
            [this.deps.table]: {
              Keys: keys.slice(start, start + 100).map((key) => ({ [k.partitionKey]: `model-state#${key}` })),
            },
          },
        }),
      );
      for (const item of out.Responses?.[this.deps.table] ?? []) {
        if (Number(item[k.ttlAttribute]) <= now) continue;
        found.set(String(item[k.partitionKey]).slice('model-state#'.length), stateOf(item));
      }
    }
    return found;
  }
}

const members = (v: unknown): string[] => (v instanceof Set ? [...v].map(String).sort() : []);

const stateOf = (item: Record<string, unknown>): SharedModelState => {
  const loadedBy = members(item.loadedBy);
  const status: ModelStatus =
    loadedBy.length > 0
      ? 'loaded'
      : members(item.loadingBy).length > 0
        ? 'loading'
        : item.failedAt
          ? 'failed'
          : 'available';
  return {
    status,
    task: item.task as Task | undefined,
    ...(typeof item.loadMs === 'number' ? { loadMs: item.loadMs } : {}),
    ...(typeof item.memoryBytes === 'number' ? { memoryBytes: item.memoryBytes } : {}),
    instances: loadedBy.length,
    loadedBy,
    updatedAt: typeof item.updatedAt === 'string' ? item.updatedAt : undefined,
  };
};

let shared: ModelStateStore | undefined;
/** The process-wide store (the shared result-cache table), built on first use. */
export const modelStates = (): ModelStateStore => {
  if (!shared) {
    const c = config();
    shared = new ModelStateStore({
      client: makeDocumentClient(c, REQUEST_PATH_CLIENT),
      table: c.RESULT_CACHE_TABLE,
      ttlSeconds: c.MODEL_STATE_TTL_SECONDS,
    });
  }
  return shared;
};

/** Reports a model event without waiting and without failing the load: status is best effort. */
export const reportModelEvent = (event: ModelEvent): void => {
  modelStates()
    .report(event)
    .catch((error: unknown) =>
      logger.warn('model state not shared', { model: event.key, event: event.kind, error: errorMessage(error) }),
    );
};
