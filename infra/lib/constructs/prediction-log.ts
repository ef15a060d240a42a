import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
  IMPORTS_TABLE_KEYS,
  MODEL_STATE_TABLE_KEYS,
  PREDICTIONS_TABLE_KEYS,
  RESULT_CACHE_TABLE_KEYS,
  type TableKeys,
  USAGE_TABLE_KEYS,
} from '#predictions/schema.ts';
import type { StageConfig } from '../stages.ts';

export interface PredictionLogProps {
  readonly config: StageConfig;
}

const str = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/**
 * A table from its `schema.ts` description, as every table of the stack is made: on demand,
 * point-in-time recovery, TTL where the items expire, encrypted at rest, deletion protection
 * and retention where the stage retains its data.
 */
export const dynamoTable = (
  scope: Construct,
  id: string,
  keys: TableKeys,
  config: StageConfig,
  /** A stream of its changes (the import jobs table's starts the import function). */
  stream?: dynamodb.StreamViewType,
): dynamodb.Table => {
  const retain = config.removal === 'retain';
  const table = new dynamodb.Table(scope, id, {
    partitionKey: str(keys.partitionKey),
    sortKey: keys.sortKey ? str(keys.sortKey) : undefined,
    timeToLiveAttribute: keys.ttlAttribute,
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.AWS_MANAGED,
    deletionProtection: retain,
    removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    ...(stream ? { stream } : {}),
  });
  for (const index of keys.globalSecondaryIndexes) {
    table.addGlobalSecondaryIndex({
      indexName: index.indexName,
      partitionKey: str(index.partitionKey),
      sortKey: str(index.sortKey),
    });
  }
  return table;
};

/**
 * The prediction log and the shared result cache, built from the same key
 * descriptions (`layers/predictions/schema.ts`) the local emulator creates its
 * dynalite tables from: on demand, point-in-time recovery, TTL, encrypted at rest.
 *
 * @example
 * const log = new PredictionLog(this, 'Predictions', { config });
 * log.predictions.grantWriteData(fn);
 */
export class PredictionLog extends Construct {
  readonly predictions: dynamodb.Table;
  readonly resultCache: dynamodb.Table;
  /** Per-key usage counters (layers/predictions/usage.ts). */
  readonly usage: dynamodb.Table;
  /** Models' loaded-state shared by every function's instances. */
  readonly modelState: dynamodb.Table;
  /** Hugging Face import jobs; its stream (new images) starts the import function. */
  readonly imports: dynamodb.Table;

  constructor(scope: Construct, id: string, props: PredictionLogProps) {
    super(scope, id);
    this.predictions = dynamoTable(this, 'Predictions', PREDICTIONS_TABLE_KEYS, props.config);
    this.resultCache = dynamoTable(this, 'ResultCache', RESULT_CACHE_TABLE_KEYS, props.config);
    this.usage = dynamoTable(this, 'Usage', USAGE_TABLE_KEYS, props.config);
    this.modelState = dynamoTable(this, 'ModelState', MODEL_STATE_TABLE_KEYS, props.config);
    this.imports = dynamoTable(this, 'Imports', IMPORTS_TABLE_KEYS, props.config, dynamodb.StreamViewType.NEW_IMAGE);
  }
}
