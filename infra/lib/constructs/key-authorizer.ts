import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { functionImage, lambdaArchitecture } from '../image.ts';
import type { StageConfig } from '../stages.ts';

export interface KeyAuthorizerProps {
  readonly config: StageConfig;
}

/**
 * The REST API's REQUEST authorizer function (`functions/authorizer/`): the shared image
 * with its own command, small and short (it reads headers and a cached key listing), not
 * in the VPC (it calls API Gateway's control plane, which the isolated subnets cannot
 * reach, and mounts no model cache). Its only permission beyond its logs and traces is
 * `apigateway:GET` on the account's API keys (GetApiKeys).
 */
export class KeyAuthorizer extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: KeyAuthorizerProps) {
    super(scope, id);
    const { config } = props;
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: config.logRetentionDays,
      removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.function = new lambda.DockerImageFunction(this, 'Function', {
      code: functionImage('authorizer', config),
      architecture: lambdaArchitecture(config),
      memorySize: 256,
      timeout: Duration.seconds(10),
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      description: `${config.serviceName} API key authorizer (${config.stage})`,
      environment: { NODE_OPTIONS: '--enable-source-maps', STAGE: config.stage },
    });
    const { partition, region } = Stack.of(this);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['apigateway:GET'],
        resources: [`arn:${partition}:apigateway:${region}::/apikeys`],
      }),
    );
    const ack = (ackId: string, reason: string) => Validations.of(this).acknowledge({ id: ackId, reason });
    ack(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'AWS-maintained minimal policy for a function to write its own CloudWatch logs.',
    );
    ack(
      'AwsSolutions-IAM5[Resource::*]',
      'xray:PutTraceSegments/xray:PutTelemetryRecords (tracing), which support no resource-level permissions.',
    );
  }
}
