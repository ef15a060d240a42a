import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';

/**
 * What the functions outside the API (the records ingester, the Hub import) share: a log
 * group with the stage's retention, an encrypted dead-letter queue kept 14 days, and the
 * environment every function's configuration and Powertools read.
 *
 * @example
 * const logGroup = functionLogGroup(this, config);
 */
export const functionLogGroup = (scope: Construct, config: StageConfig): logs.LogGroup =>
  new logs.LogGroup(scope, 'Logs', {
    retention: config.logRetentionDays,
    removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });

export const deadLetterQueue = (scope: Construct): sqs.Queue =>
  new sqs.Queue(scope, 'DeadLetters', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });

export const serviceEnvironment = (config: StageConfig, serviceName: string): Record<string, string> => ({
  STAGE: config.stage,
  SERVICE_NAME: serviceName,
  METRICS_NAMESPACE: config.metricsNamespace,
  LOG_LEVEL: config.logLevel,
  POWERTOOLS_SERVICE_NAME: serviceName,
  POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
  NODE_OPTIONS: '--enable-source-maps',
});

/**
 * The cdk-nag findings every such function raises, acknowledged with their reasons: the
 * AWS-managed logging policy, the grants on `*` (tracing, and what `starReason` adds), and
 * the dead-letter queue having none of its own.
 */
export const acknowledgeFunctionFindings = (
  scope: Construct,
  { starReason, deadLettersOf }: { starReason: string; deadLettersOf: string },
): void => {
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'AWS-maintained minimal policy for a function to write its own CloudWatch logs.',
  });
  Validations.of(scope).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason: starReason });
  Validations.of(scope).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is the dead-letter queue of ${deadLettersOf}: it needs none of its own.`,
  });
};
