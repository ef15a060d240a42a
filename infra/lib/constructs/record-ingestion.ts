import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { functionImage, lambdaArchitecture } from '../image.ts';
import type { FunctionSettings, StageConfig } from '../stages.ts';
import type { InferenceFunction } from './inference-function.ts';
import { acknowledgeFunctionFindings, deadLetterQueue, functionLogGroup, serviceEnvironment } from './support.ts';

export interface RecordIngestionProps {
  readonly config: StageConfig;
  /** The functions whose log groups carry records lines (the capabilities). */
  readonly sources: ReadonlyMap<string, InferenceFunction>;
  readonly predictions: dynamodb.ITable;
  readonly resultCache: dynamodb.ITable;
  /** The models' shared loaded-state: the functions print their changes, the ingester puts them. */
  readonly modelState: dynamodb.ITable;
}

/** Small and short: it parses log lines and sends BatchWrites (the stage may size it as `ingest`). */
const DEFAULT_SETTINGS: FunctionSettings = { memoryMb: 512, timeoutSeconds: 60 };
/** Lambda's retries of a failed asynchronous invocation before the event goes to the dead-letter queue. */
const RETRY_ATTEMPTS = 2;

/**
 * Prediction records off the response path (docs/prediction-log.md): a CloudWatch Logs
 * subscription filter on each capability's log group sends the records lines
 * (`{"type":"predictionRecords",…}`) to the ingest function, which BatchWrites them to
 * the prediction table and the result cache, and puts the model-state changes those lines
 * carry (conditional PutItem, newest per holder). Logs invokes it asynchronously: a batch it
 * fails (DynamoDB refusing after the writer's retries) is retried twice by Lambda, then
 * kept in an encrypted dead-letter queue for 14 days, from which it can be redriven
 * (writes are idempotent). The function is outside the VPC: it reads no model.
 *
 * @example
 * new RecordIngestion(this, 'Ingest', { config, sources: functions, predictions, resultCache, modelState });
 */
export class RecordIngestion extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly deadLetters: sqs.Queue;
  readonly serviceName: string;

  constructor(scope: Construct, id: string, props: RecordIngestionProps) {
    super(scope, id);
    const { config } = props;
    const settings = props.config.functions.ingest ?? DEFAULT_SETTINGS;
    this.serviceName = `${config.serviceName}-ingest`;
    const logGroup = functionLogGroup(this, config);
    this.deadLetters = deadLetterQueue(this);
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      code: functionImage('ingest', config),
      architecture: lambdaArchitecture(config),
      memorySize: settings.memoryMb,
      timeout: Duration.seconds(settings.timeoutSeconds),
      reservedConcurrentExecutions: settings.reservedConcurrency,
      logGroup,
      tracing: lambda.Tracing.ACTIVE,
      deadLetterQueue: this.deadLetters,
      retryAttempts: RETRY_ATTEMPTS,
      description: `${config.serviceName} prediction records ingester (${config.stage})`,
      environment: {
        ...serviceEnvironment(config, this.serviceName),
        PREDICTIONS_TABLE: props.predictions.tableName,
        RESULT_CACHE_TABLE: props.resultCache.tableName,
        MODEL_STATE_TABLE: props.modelState.tableName,
      },
    });
    // The writer's one call (RecordWriter: BatchWriteCommand), on the two tables only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:BatchWriteItem'],
        resources: [props.predictions.tableArn, props.resultCache.tableArn],
      }),
    );
    // The analytics counters' ADDs (RecordWriter.applyCounters: UpdateCommand), on the
    // prediction table that holds them, and only there.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:UpdateItem'], resources: [props.predictions.tableArn] }),
    );
    // Model-state changes (ModelStateStore.apply: a conditional PutCommand per item).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [props.modelState.tableArn] }),
    );
    const destination = new destinations.LambdaDestination(this.function);
    for (const [name, source] of props.sources) {
      new logs.SubscriptionFilter(this, `From-${name}`, {
        logGroup: source.logGroup,
        destination,
        filterPattern: logs.FilterPattern.stringValue('$.type', '=', 'predictionRecords'),
        filterName: 'prediction-records',
      });
    }
    acknowledgeFunctionFindings(this, {
      starReason:
        'xray:PutTraceSegments/xray:PutTelemetryRecords, which CDK generates for tracing and which support no resource-level permissions.',
      deadLettersOf: 'the ingest function',
    });
  }
}
