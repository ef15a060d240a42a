import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { functionSettings, type StageConfig } from '../stages.ts';
import { outsideVpcFunction } from './outside-vpc-function.ts';
import { deadLetterQueue, serviceEnvironment } from './support.ts';

export interface HubImportProps {
  readonly config: StageConfig;
  /** The import jobs table, with its NEW_IMAGE stream. */
  readonly jobs: dynamodb.Table;
  readonly bucket: s3.IBucket;
  /** The registry's key prefix in the bucket. */
  readonly prefix: string;
}

/** /tmp holds the bundle being built: room for a few GB of weights. */
const TMP_GIB = 10;

/**
 * Hugging Face models imported on demand (docs/hub-import.md): the import function, outside
 * the VPC (the serving functions keep no egress; it is the only one that calls the Hub), started by the import
 * jobs table's stream for jobs a serving function queued (a filter passes only `queued`
 * new images). It may read the job and move it on (GetItem, UpdateItem), and write bundles
 * under the registry prefix (never delete); a batch it fails is retried twice, then its
 * record goes to an encrypted dead-letter queue (the job then looks stale and the next
 * request queues it again).
 *
 * @example
 * new HubImport(this, 'HubImport', { config, jobs: log.imports, bucket: store.bucket, prefix: 'models' });
 */
export class HubImport extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: HubImportProps) {
    super(scope, id);
    const { config, jobs, bucket, prefix } = props;
    const settings = functionSettings(config, 'import');
    const serviceName = `${config.serviceName}-import`;
    this.deadLetters = deadLetterQueue(this);
    ({ function: this.function } = outsideVpcFunction(this, {
      name: 'import',
      config,
      memoryMb: settings.memoryMb,
      timeout: Duration.seconds(settings.timeoutSeconds),
      reservedConcurrency: settings.reservedConcurrency,
      ephemeralStorageGiB: TMP_GIB,
      description: `${config.serviceName} Hugging Face model import (${config.stage})`,
      environment: {
        ...serviceEnvironment(config, serviceName),
        IMPORTS_TABLE: jobs.tableName,
        MODEL_BUCKET: bucket.bucketName,
        MODEL_PREFIX: prefix,
      },
    }));
    this.function.addEventSource(
      new DynamoEventSource(jobs, {
        startingPosition: lambda.StartingPosition.LATEST,
        batchSize: 1,
        retryAttempts: 2,
        bisectBatchOnError: false,
        onFailure: new SqsDlq(this.deadLetters),
        filters: [
          lambda.FilterCriteria.filter({
            dynamodb: { NewImage: { status: { S: lambda.FilterRule.isEqual('queued') } } },
          }),
        ],
      }),
    );
    // The job store's calls (ImportJobStore.get, claim/done/failed), on the jobs table only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [jobs.tableArn] }),
    );
    // publishBundle: read (does the version exist?) and write bundles, multipart included;
    // no delete, and only under imported names (`org--name`, registryNameOf): an import can
    // never write over a model published by hand.
    const objects = bucket.arnForObjects(`${prefix}/*--*/*`);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
        resources: [objects],
      }),
    );
    // A missing manifest is a 404 (not a 403) only with ListBucket; limited to the registry's keys.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
      }),
    );
    const logical = Stack.of(this).getLogicalId(bucket.node.defaultChild as CfnElement);
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logical}.Arn>/${prefix}/*--*/*]`,
      reason: `Imported models only: s3:GetObject, s3:PutObject and s3:AbortMultipartUpload under the registry names imports use (org--name), whose keys are not known in advance; no delete.`,
    });
    // outsideVpcFunction acknowledged the logging policy and tracing's grants on `*`; the stream adds one there.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments/xray:PutTelemetryRecords (tracing) and dynamodb:ListStreams (the event source mapping), which support no resource-level permissions.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is the dead-letter queue of the import function’s stream: it needs none of its own.',
    });
  }
}
