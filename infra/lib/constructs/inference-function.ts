import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { ConfigSchema } from '#runtime/config.ts';
import { lambdaVcpus } from '#runtime/session-options.ts';
import { functionImage, lambdaArchitecture } from '../image.ts';
import {
  type FunctionName,
  type FunctionSettings,
  functionSettings,
  maxRequestBodyBytes,
  type StageConfig,
} from '../stages.ts';
import { MODEL_CACHE_MOUNT_PATH, type ModelStore } from './model-store.ts';

/** Only variables the runtime configuration knows can be set (a typo fails the type check). */
export type EnvName = keyof typeof ConfigSchema.shape;

/**
 * The DynamoDB calls the code makes (layers/predictions: BatchWriteItem, BatchGetItem, Query;
 * usage counters: UpdateItem; the body-keyed routes' key check: GetItem; import jobs: GetItem, PutItem).
 */
export type TableAction = 'BatchWriteItem' | 'BatchGetItem' | 'Query' | 'UpdateItem' | 'GetItem' | 'PutItem';

export interface InferenceFunctionProps {
  readonly name: FunctionName;
  readonly config: StageConfig;
  readonly vpc: ec2.IVpc;
  readonly modelStore: ModelStore;
  /** Overrides the stage's settings for this function (tests). */
  readonly settings?: FunctionSettings;
}

/**
 * One function of the product: the shared container image with this function's
 * command, and the defaults every function shares fixed in one place (architecture,
 * memory and timeout from the stage, a log group with retention, X-Ray tracing, the
 * VPC, the EFS model cache at /mnt/models, source maps, Powertools names). Traffic
 * goes to the `live` alias, which carries the provisioned concurrency.
 *
 * @example
 * const fn = new InferenceFunction(this, 'Predict', { name: 'predict', config, vpc, modelStore });
 * fn.bindTable('PREDICTIONS_TABLE', table, 'write');
 */
export class InferenceFunction extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly alias: lambda.Alias;
  readonly logGroup: logs.LogGroup;
  readonly settings: FunctionSettings;
  /** The Powertools service name: the `service` dimension of this function's metrics. */
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: InferenceFunctionProps) {
    super(scope, id);
    const { name, config, vpc, modelStore } = props;
    this.settings = props.settings ?? functionSettings(config, name);
    this.serviceName = `${config.serviceName}-${name}`;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    // No route leaves the VPC (no NAT, no internet gateway); HTTPS reaches S3 and
    // DynamoDB through the gateway endpoints, NFS reaches EFS (added by the mount).
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      allowAllOutbound: false,
      description: `${name} function: HTTPS to gateway endpoints, NFS to the model cache`,
    });
    securityGroup.addEgressRule(
      ec2.Peer.anyIpv4(),
      ec2.Port.tcp(443),
      'HTTPS to the S3 and DynamoDB gateway endpoints',
    );
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      code: functionImage(name, config),
      architecture: lambdaArchitecture(config),
      memorySize: this.settings.memoryMb,
      timeout: Duration.seconds(this.settings.timeoutSeconds),
      reservedConcurrentExecutions: this.settings.reservedConcurrency,
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      filesystem: lambda.FileSystem.fromEfsAccessPoint(modelStore.accessPoint, MODEL_CACHE_MOUNT_PATH),
      description: `${config.serviceName} ${name} (${config.stage})`,
    });
    this.alias = new lambda.Alias(this, 'Live', {
      aliasName: 'live',
      version: this.function.currentVersion,
      provisionedConcurrentExecutions: this.settings.provisionedConcurrency,
    });

    this.setEnv({
      STAGE: config.stage,
      SERVICE_NAME: this.serviceName,
      METRICS_NAMESPACE: config.metricsNamespace,
      LOG_LEVEL: config.logLevel,
      MODEL_CACHE_DIR: MODEL_CACHE_MOUNT_PATH,
      STORE_RAW_INPUTS: String(config.storeRawInputs),
      ADMIN_API_KEY_HASHES: (config.adminApiKeyHashes ?? []).join(','),
      MAX_TEXT_CHARS: String(config.limits.maxTextChars),
      MAX_BATCH_SIZE: String(config.limits.maxBatchSize),
      MAX_BODY_BYTES: String(maxRequestBodyBytes(config.limits)),
      // Lambda's vCPUs for this memory, not the host cores availableParallelism() reports.
      ONNX_THREADS: String(lambdaVcpus(this.settings.memoryMb)),
      CORS_ORIGINS: config.corsOrigins.join(','),
      PREDICTION_TTL_DAYS: String(config.predictionTtlDays),
    });
    // Read by Powertools itself and by Node, not by the runtime configuration.
    this.function.addEnvironment('POWERTOOLS_SERVICE_NAME', this.serviceName);
    this.function.addEnvironment('POWERTOOLS_METRICS_NAMESPACE', config.metricsNamespace);
    // No NODE_OPTIONS=--enable-source-maps here (the authorizer, key-sync and the ingester keep it): with it
    // Node reads the bundle's source map and measures every line of the 3-12 MB bundle at
    // import, about 170 ms of each cold start (docs/ARCHITECTURE.md, "Cold start"). The bundles
    // are not minified, so a stack trace still names each function, and the .map beside each
    // bundle in the image maps a position back to its source file.
    this.bindBucket('MODEL_BUCKET', modelStore.bucket, 'models');

    const ack = (id: string, reason: string) => Validations.of(this).acknowledge({ id, reason });
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWS-maintained minimal policy for a function to write its own CloudWatch logs.',
    );
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      'AWS-maintained minimal policy Lambda needs to create and delete the network interfaces of a VPC function (required for the EFS mount).',
    );
    ack(
      'AwsSolutions-IAM5[Resource::*]',
      "Two statements CDK generates: xray:PutTraceSegments/xray:PutTelemetryRecords, which support no resource-level permissions, and elasticfilesystem:ClientMount, which is conditioned on this stack's access point ARN.",
    );
  }

  /** Logical id reference as cdk-nag prints it in a finding: `<LogicalId.Arn>`. */
  private arnRef(resource: { node: { defaultChild?: unknown } }): string {
    return `<${Stack.of(this).getLogicalId(resource.node.defaultChild as CfnElement)}.Arn>`;
  }

  /** Sets configuration variables that carry no permission. */
  setEnv(vars: Partial<Record<EnvName, string>>): void {
    for (const [key, value] of Object.entries(vars)) {
      if (value !== undefined) this.function.addEnvironment(key, value);
    }
  }

  /**
   * Points a variable at a table and grants exactly the DynamoDB calls the code makes on it
   * (Powertools' `bindTable`): the name and the permission cannot drift apart. On the table
   * only, not its indexes: no code queries an index.
   */
  bindTable(env: EnvName, table: dynamodb.ITable, actions: readonly TableAction[]): void {
    this.function.addEnvironment(env, table.tableName);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }),
    );
  }

  /**
   * Points MODEL_BUCKET/MODEL_PREFIX at the registry and grants what the model store calls:
   * GetObject under the prefix, and ListBucket (the registry lists a model's versions)
   * limited to keys under the prefix.
   */
  bindBucket(env: 'MODEL_BUCKET', bucket: s3.IBucket, prefix: string): void {
    this.function.addEnvironment(env, bucket.bucketName);
    this.function.addEnvironment('MODEL_PREFIX' satisfies EnvName, prefix);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects(`${prefix}/*`)] }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}/*`] } },
      }),
    );
    Validations.of(this).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.arnRef(bucket)}/${prefix}/*]`,
      reason: `The registry: s3:GetObject only (read-only), on every bundle and alias file under the model bucket's ${prefix}/ prefix, whose keys are not known in advance.`,
    });
  }
}
