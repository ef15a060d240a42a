import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { WAF_RESPONSES, wafResponseBody } from '#functions/gateway-responses.ts';
import type { RouteDef } from '#functions/routes.ts';
import { type StageConfig, WAF_RATE_WINDOW_SECONDS, wafRateLimits } from '../stages.ts';

export interface WafProps {
  readonly config: StageConfig;
  /** The API Gateway stage to protect. */
  readonly stage: apigw.Stage;
  /** The API's routes: those with a body carry user text (prompts, sentences) WAF must not judge. */
  readonly routes: readonly RouteDef[];
}

const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const COMMON_RULE_SET = 'AWSManagedRulesCommonRuleSet';
/**
 * The common rule set's rules that judge the body: on a route whose body is user text they
 * would block the text itself (a prompt quoting `<script>`, a sentence with `../../etc/passwd`,
 * a batch over 8 KB), so they only count, and `BodyRulesWithoutUserText` blocks what they
 * match on every other route.
 */
export const COMMON_BODY_RULES = [
  'CrossSiteScripting_BODY',
  'GenericLFI_BODY',
  'GenericRFI_BODY',
  'EC2MetaDataSSRF_BODY',
  'SizeRestrictions_BODY',
] as const;
/** The label a counted managed rule leaves on the request (`CrossSiteScripting_Body`, …). */
const commonRuleLabel = (rule: string) => `awswaf:managed:aws:core-rule-set:${rule.replace(/_BODY$/, '_Body')}`;

/** Rate-limited answers: 429 in the API's error envelope, with CORS so a browser can read it. */
const blockWith = (config: StageConfig, bodyKey: keyof typeof WAF_RESPONSES): wafv2.CfnWebACL.RuleActionProperty => ({
  block: {
    customResponse: {
      responseCode: WAF_RESPONSES[bodyKey].statusCode,
      customResponseBodyKey: bodyKey,
      responseHeaders: [
        { name: 'Retry-After', value: String(WAF_RATE_WINDOW_SECONDS / 5) },
        { name: 'Access-Control-Allow-Origin', value: config.corsOrigins[0] ?? '*' },
      ],
    },
  },
});

const managed = (
  priority: number,
  name: string,
  ruleActionOverrides?: wafv2.CfnWebACL.RuleActionOverrideProperty[],
): wafv2.CfnWebACL.RuleProperty => ({
  name,
  priority,
  overrideAction: { none: {} },
  statement: { managedRuleGroupStatement: { vendorName: 'AWS', name, ruleActionOverrides } },
  visibilityConfig: visibility(name),
});

/** A request to one of these paths (the stage name or a custom domain's base path before it). */
const pathIsOneOf = (paths: readonly string[]): wafv2.CfnWebACL.StatementProperty => {
  const each = paths.map(
    (p): wafv2.CfnWebACL.StatementProperty => ({
      byteMatchStatement: {
        fieldToMatch: { uriPath: {} },
        positionalConstraint: 'ENDS_WITH',
        searchString: p,
        textTransformations: [{ priority: 0, type: 'NONE' }],
      },
    }),
  );
  if (each.length === 0) throw new Error('WAF: no route carries user text; the body rules would need no exception');
  return each.length === 1 ? (each[0] as wafv2.CfnWebACL.StatementProperty) : { orStatement: { statements: each } };
};

/** A rate-based rule aggregating on one request header (an API key), per WAF_RATE_WINDOW_SECONDS. */
const ratePerHeader = (
  config: StageConfig,
  priority: number,
  name: string,
  header: string,
  limit: number,
): wafv2.CfnWebACL.RuleProperty => ({
  name,
  priority,
  action: blockWith(config, 'RATE_LIMITED'),
  statement: {
    rateBasedStatement: {
      limit,
      evaluationWindowSec: WAF_RATE_WINDOW_SECONDS,
      aggregateKeyType: 'CUSTOM_KEYS',
      customKeys: [{ header: { name: header, textTransformations: [{ priority: 0, type: 'NONE' }] } }],
    },
  },
  visibilityConfig: visibility(name),
});

/**
 * The regional web ACL in front of the API stage. AWS managed rules for known bad inputs,
 * IP reputation and common exploits, except that the common rule set's body rules only
 * count on routes whose body is user text (every POST route: the text is what the product
 * processes) and block elsewhere. Rate limits sized to the usage plans (`wafRateLimits`):
 * per API key (the `x-api-key` and `Authorization` headers, each its own aggregate), at
 * what the top plan lets one key send, so a client within its plan is never blocked; per
 * IP, for keyless and key-guessing traffic, that times `waf.clientsPerIp`. Rate blocks
 * answer 429 in the API's error envelope; other blocks answer API Gateway's WAF_FILTERED
 * gateway response (403, same envelope). No size rule: WAF sees only a body's first 64 KB,
 * while valid bodies reach MAX_BODY_BYTES (`maxRequestBodyBytes`), which the functions
 * enforce with a 413.
 *
 * @example
 * new Waf(this, 'Waf', { config, stage: api.restApi.deploymentStage, routes: ROUTES });
 */
export class Waf extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  /** The metric name of the web ACL (the `WebACL` dimension of AWS/WAFV2 metrics). */
  readonly metricName: string;

  constructor(scope: Construct, id: string, props: WafProps) {
    super(scope, id);
    const { config } = props;
    const limits = wafRateLimits(config);
    const textRoutes = [...new Set(props.routes.filter((r) => r.method === 'POST').map((r) => r.path))];
    this.metricName = `${config.serviceName}-${config.stage}-waf`;
    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      name: this.metricName,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(this.metricName),
      // Inspect as much of a body as WAF can for API Gateway (its default is 16 KB).
      associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
      customResponseBodies: Object.fromEntries(
        Object.keys(WAF_RESPONSES).map((key) => [
          key,
          { contentType: 'APPLICATION_JSON', content: wafResponseBody(key as keyof typeof WAF_RESPONSES) },
        ]),
      ),
      rules: [
        managed(0, 'AWSManagedRulesAmazonIpReputationList'),
        managed(
          1,
          COMMON_RULE_SET,
          COMMON_BODY_RULES.map((name) => ({ name, actionToUse: { count: {} } })),
        ),
        {
          name: 'BodyRulesWithoutUserText',
          priority: 2,
          action: { block: {} },
          statement: {
            andStatement: {
              statements: [
                {
                  orStatement: {
                    statements: COMMON_BODY_RULES.filter((r) => r !== 'SizeRestrictions_BODY').map((rule) => ({
                      labelMatchStatement: { scope: 'LABEL', key: commonRuleLabel(rule) },
                    })),
                  },
                },
                { notStatement: { statement: pathIsOneOf(textRoutes) } },
              ],
            },
          },
          visibilityConfig: visibility('BodyRulesWithoutUserText'),
        },
        managed(3, 'AWSManagedRulesKnownBadInputsRuleSet'),
        ratePerHeader(config, 4, 'RatePerApiKey', 'x-api-key', limits.perKey),
        ratePerHeader(config, 5, 'RatePerBearerKey', 'authorization', limits.perKey),
        {
          name: 'RatePerIp',
          priority: 6,
          action: blockWith(config, 'RATE_LIMITED'),
          statement: {
            rateBasedStatement: {
              limit: limits.perIp,
              aggregateKeyType: 'IP',
              evaluationWindowSec: WAF_RATE_WINDOW_SECONDS,
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
