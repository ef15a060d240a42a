import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { API_KEYS_TABLE_KEYS } from '#predictions/schema.ts';
import type { StageConfig } from '../stages.ts';
import { allowKeyAndPlanListing } from './key-listing-policy.ts';
import { outsideVpcFunction } from './outside-vpc-function.ts';
import { dynamoTable } from './prediction-log.ts';

export interface KeySyncProps {
  readonly config: StageConfig;
}

/**
 * How often the key mirror is synced: EventBridge's shortest rate, and the authorizer's key
 * listing TTL, so a new key works for body-keyed calls about as soon as for header-keyed ones.
 * API Gateway management calls reach EventBridge only through a CloudTrail trail, which this
 * stack does not own, so there is no on-change trigger (docs/keys.md).
 */
export const KEY_SYNC_INTERVAL = Duration.minutes(1);

/** The DynamoDB calls the sync makes on the mirror (`syncKeyMirror`): read it whole, put and delete items. */
export const KEY_SYNC_TABLE_ACTIONS = ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem'] as const;

/**
 * The mirror of API Gateway's keys for body-keyed requests (docs/keys.md): the table
 * (`API_KEYS_TABLE_KEYS`, one item per key hash) and the key-sync function
 * (`functions/key-sync/`) that an EventBridge schedule runs every `KEY_SYNC_INTERVAL`. The
 * function sits outside the VPC, as the authorizer does, because it calls API Gateway's control
 * plane; it may only GET the account's keys, usage plans and their keys, and Scan/PutItem/
 * DeleteItem on this table. The inference functions only GetItem it (`bindTable`), through the
 * VPC's DynamoDB gateway endpoint.
 */
export class KeySync extends Construct {
  readonly table: dynamodb.Table;
  readonly function: lambda.DockerImageFunction;
  readonly logGroup: logs.LogGroup;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: KeySyncProps) {
    super(scope, id);
    const { config } = props;
    this.table = dynamoTable(this, 'Keys', API_KEYS_TABLE_KEYS, config);
    ({ function: this.function, logGroup: this.logGroup } = outsideVpcFunction(this, {
      name: 'key-sync',
      config,
      memoryMb: 256,
      // Under the interval, so two syncs do not overlap (they would agree anyway: each is a full diff).
      timeout: Duration.seconds(50),
      description: `${config.serviceName} API key mirror sync (${config.stage})`,
      environment: {
        API_KEYS_TABLE: this.table.tableName,
        SERVICE_NAME: `${config.serviceName}-key-sync`,
        METRICS_NAMESPACE: config.metricsNamespace,
        LOG_LEVEL: config.logLevel,
      },
    }));
    allowKeyAndPlanListing(this, this.function, "the sync mirrors each key's plan for the body-keyed requests' check.");
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: [...KEY_SYNC_TABLE_ACTIONS], resources: [this.table.tableArn] }),
    );
    // A missed run is made good by the next one a minute later: no retries, no stale events queued.
    this.schedule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.rate(KEY_SYNC_INTERVAL),
      description: `Mirrors API Gateway's keys and usage plans into DynamoDB for body-keyed requests (${config.stage})`,
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.minutes(1) })],
    });
  }
}
