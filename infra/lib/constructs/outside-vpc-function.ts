import { type Duration, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { functionImage, lambdaArchitecture } from '../image.ts';
import type { ImageFunctionName, StageConfig } from '../stages.ts';

export interface OutsideVpcFunctionProps {
  readonly name: ImageFunctionName;
  readonly config: StageConfig;
  readonly memoryMb: number;
  readonly timeout: Duration;
  readonly description: string;
  readonly environment?: Record<string, string>;
  readonly reservedConcurrency?: number;
  /** /tmp beyond Lambda's 512 MB (the Hub import builds a bundle there). */
  readonly ephemeralStorageGiB?: number;
}

/**
 * A small function of the shared image that calls API Gateway's control plane, which the
 * VPC's isolated subnets cannot reach: not in the VPC, no model cache, its own log group with
 * the stage's retention, X-Ray tracing. The authorizer and the key-sync function are two; the
 * Hub import (which calls the Hugging Face Hub) is a larger one.
 * Their roles get the permissions each needs beside this.
 */
export const outsideVpcFunction = (
  scope: Construct,
  props: OutsideVpcFunctionProps,
): { function: lambda.DockerImageFunction; logGroup: logs.LogGroup } => {
  const { config } = props;
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: config.logRetentionDays,
    removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
  });
  const fn = new lambda.DockerImageFunction(scope, 'Function', {
    code: functionImage(props.name, config),
    architecture: lambdaArchitecture(config),
    memorySize: props.memoryMb,
    timeout: props.timeout,
    reservedConcurrentExecutions: props.reservedConcurrency,
    ...(props.ephemeralStorageGiB ? { ephemeralStorageSize: Size.gibibytes(props.ephemeralStorageGiB) } : {}),
    logGroup,
    tracing: lambda.Tracing.ACTIVE,
    description: props.description,
    environment: { NODE_OPTIONS: '--enable-source-maps', STAGE: config.stage, ...props.environment },
  });
  const ack = (id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
  ack(
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    'AWS-maintained minimal policy for a function to write its own CloudWatch logs.',
  );
  ack(
    'AwsSolutions-IAM5[Resource::*]',
    'xray:PutTraceSegments/xray:PutTelemetryRecords (tracing), which support no resource-level permissions.',
  );
  return { function: fn, logGroup };
};
