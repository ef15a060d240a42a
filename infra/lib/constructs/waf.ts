import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';

export interface WafProps {
  readonly config: StageConfig;
  /** The API Gateway stage to protect. */
  readonly stage: apigw.Stage;
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const managed = (priority: number, name: string, ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[]) =>
  ({
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides } },
    visibilityConfig: visibility(name),
  }) satisfies wafv2.CfnWebACL.RuleProperty;

/**
 * The regional web ACL in front of the API stage: AWS managed rules for common
 * exploits, known bad inputs and IP reputation, a per-IP rate limit, and a body-size
 * rule of our own. The common rule set's `SizeRestrictions_BODY` blocks bodies over
 * 8 KB, which a 5,000-character text in a non-Latin script exceeds (up to 4 bytes a
 * character in UTF-8, 12 JSON-escaped); it is set to count, and `BodySizeLimit`
 * blocks above `waf.maxBodyBytes` instead (WAF inspects up to that much: KB_64).
 *
 * @example
 * new Waf(this, 'Waf', { config, stage: api.restApi.deploymentStage });
 */
export class Waf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  /** The metric name of the web ACL (the `WebACL` dimension of AWS/WAFV2 metrics). */
  readonly metricName: string;

  constructor(scope: Construct, id: string, props: WafProps) {
    super(scope, id);
    const { config } = props;
    this.metricName = `${config.serviceName}-${config.stage}-waf`;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: this.metricName,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(this.metricName),
      // Inspect bodies up to 64 KB (the default for API Gateway is 16 KB).
      associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
      rules: [
        managed(0, 'AWSManagedRulesAmazonIpReputationList'),
        managed(1, 'AWSManagedRulesCommonRuleSet', [{ name: 'SizeRestrictions_BODY', actionToUse: { count: {} } }]),
        managed(2, 'AWSManagedRulesKnownBadInputsRuleSet'),
        {
          name: 'BodySizeLimit',
          priority: 3,
          action: { block: {} },
          statement: {
            sizeConstraintStatement: {
              fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
              comparisonOperator: 'GT',
              size: config.waf.maxBodyBytes,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          visibilityConfig: visibility('BodySizeLimit'),
        },
        {
          name: 'RatePerIp',
          priority: 4,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              limit: config.waf.ratePer5MinPerIp,
              aggregateKeyType: 'IP',
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility('RatePerIp'),
        },
      ],
    });
    const association = new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
    // The stage ARN is built from the API id and the stage name, which would not wait
    // for the stage itself: associating before it exists fails the deployment.
    association.node.addDependency(props.stage);
  }
}
