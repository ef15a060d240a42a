import { Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/**
 * Lets a function list the account's API keys and usage plans with their keys
 * (`listApiGatewayKeysWithPlans`, layers/http/key-source.ts): `apigateway:GET` on `/apikeys`,
 * `/usageplans` and `/usageplans/{id}/keys`, nothing else. The wildcard is acknowledged to cdk-nag
 * with `why`: plan ids are not known in advance.
 */
export const allowKeyAndPlanListing = (scope: Construct, fn: lambda.IFunction, why: string): void => {
  const { partition, region } = Stack.of(scope);
  const base = `arn:${partition}:apigateway:${region}::`;
  fn.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['apigateway:GET'],
      resources: [`${base}/apikeys`, `${base}/usageplans`, `${base}/usageplans/*/keys`],
    }),
  );
  Validations.of(scope).acknowledge({
    // A pinned stage (prod) resolves partition and region to literals; cdk-nag names them as they are.
    id: `AwsSolutions-IAM5[Resource::arn:${Token.isUnresolved(partition) ? '<AWS::Partition>' : partition}:apigateway:${Token.isUnresolved(region) ? '<AWS::Region>' : region}::/usageplans/*/keys]`,
    reason: `Read-only (GET) on the keys of the account's usage plans, whose ids are not known in advance: ${why}`,
  });
};
