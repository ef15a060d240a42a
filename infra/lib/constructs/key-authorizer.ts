import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';
import { allowKeyAndPlanListing } from './key-listing-policy.ts';
import { outsideVpcFunction } from './outside-vpc-function.ts';

export interface KeyAuthorizerProps {
  readonly config: StageConfig;
}

/**
 * The REST API's REQUEST authorizer function (`functions/authorizer/`): the shared image
 * with its own command, small and short (it reads headers and a cached key listing), not
 * in the VPC (it calls API Gateway's control plane, which the isolated subnets cannot
 * reach, and mounts no model cache). Its only permission beyond its logs and traces is
 * `apigateway:GET` on the account's API keys and usage plans (GetApiKeys, GetUsagePlans,
 * GetUsagePlanKeys: the key's plan goes into the authorizer's context).
 */
export class KeyAuthorizer extends Construct {
  readonly function: lambda.DockerImageFunction;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: KeyAuthorizerProps) {
    super(scope, id);
    const { config } = props;
    ({ function: this.function, logGroup: this.logGroup } = outsideVpcFunction(this, {
      name: 'authorizer',
      config,
      memoryMb: 256,
      timeout: Duration.seconds(10),
      description: `${config.serviceName} API key authorizer (${config.stage})`,
    }));
    allowKeyAndPlanListing(this, this.function, "the authorizer passes each key's plan on to the functions.");
  }
}
