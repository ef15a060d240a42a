import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { StageConfig } from '../stages.ts';
import type { InferenceFunction } from './inference-function.ts';

export interface ObservabilityProps {
  readonly config: StageConfig;
  /** Functions serving API routes, by name. */
  readonly functions: ReadonlyMap<string, InferenceFunction>;
  readonly api: apigw.RestApi;
  /** The web ACL's metric name (`WebACL` dimension). */
  readonly webAclMetricName: string;
  readonly tables: readonly dynamodb.Table[];
}

/** Metric names the functions publish through Powertools (layers/observability). */
export const APP_METRICS = { coldStart: 'ColdStart', modelLoadMs: 'ModelLoadMs', inferenceMs: 'InferenceMs' } as const;

const PERIOD = Duration.minutes(5);

/**
 * One dashboard per stage and the alarms that page: function errors, p95 duration
 * near the timeout, throttles, API 5xx. Alarms go to an SNS topic encrypted with a
 * key CloudWatch may use (the AWS-managed SNS key does not let CloudWatch publish).
 *
 * @example
 * new Observability(this, 'Observability', { config, functions, api, webAclMetricName, tables });
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config, functions, api } = props;
    const region = Stack.of(this).region;

    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Encrypts the ${config.stage} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: config.removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Alarms', {
      displayName: `${config.serviceName} ${config.stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.alarms.email) this.topic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
    const alarmAction = new actions.SnsAction(this.topic);

    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(alarmAction);
      this.alarms.push(a);
      return a;
    };

    const appMetric = (fn: InferenceFunction, metricName: string, statistic: string, coldStart = false) =>
      new cloudwatch.Metric({
        namespace: config.metricsNamespace,
        metricName,
        // Powertools adds function_name to the cold-start metric only.
        dimensionsMap: coldStart
          ? { service: fn.serviceName, function_name: fn.function.functionName }
          : { service: fn.serviceName },
        statistic,
        period: PERIOD,
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.serviceName}-${config.stage}`,
      defaultInterval: Duration.hours(3),
    });
    const widgets: cloudwatch.IWidget[] = [];
    for (const [name, fn] of functions) {
      const f = fn.function;
      widgets.push(
        new cloudwatch.GraphWidget({
          title: `${name}: invocations, errors, throttles`,
          left: [f.metricInvocations({ period: PERIOD }), f.metricErrors({ period: PERIOD })],
          right: [f.metricThrottles({ period: PERIOD })],
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${name}: duration p50/p95/p99 (ms)`,
          left: ['p50', 'p95', 'p99'].map((statistic) => f.metricDuration({ statistic, period: PERIOD })),
          width: 8,
        }),
        new cloudwatch.GraphWidget({
          title: `${name}: cold starts, model load, inference (ms)`,
          left: [appMetric(fn, APP_METRICS.coldStart, 'Sum', true)],
          right: [
            appMetric(fn, APP_METRICS.modelLoadMs, 'p95'),
            appMetric(fn, APP_METRICS.inferenceMs, 'p50'),
            appMetric(fn, APP_METRICS.inferenceMs, 'p95'),
          ],
          width: 8,
        }),
      );
      alarm(
        `${name}Errors`,
        f.metricErrors({ period: PERIOD }),
        config.alarms.functionErrors,
        `${name}: function errors`,
      );
      alarm(
        `${name}DurationP95`,
        f.metricDuration({ statistic: 'p95', period: PERIOD }),
        Math.round(fn.settings.timeoutSeconds * 1000 * config.alarms.p95DurationOfTimeout),
        `${name}: p95 duration above ${config.alarms.p95DurationOfTimeout * 100}% of the timeout`,
      );
      alarm(`${name}Throttles`, f.metricThrottles({ period: PERIOD }), config.alarms.throttles, `${name}: throttled`);
    }

    const api5xx = api.metricServerError({ period: PERIOD, statistic: 'Sum' });
    alarm('Api5xx', api5xx, config.alarms.api5xx, 'API: 5xx responses');
    const wafBlocked = new cloudwatch.Metric({
      namespace: 'AWS/WAFV2',
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: props.webAclMetricName, Region: region, Rule: 'ALL' },
      statistic: 'Sum',
      period: PERIOD,
    });
    widgets.push(
      new cloudwatch.GraphWidget({
        title: 'API: requests, 4xx, 5xx',
        left: [api.metricCount({ period: PERIOD }), api.metricClientError({ period: PERIOD }), api5xx],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'WAF: blocked requests', left: [wafBlocked], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'DynamoDB: throttled requests',
        left: props.tables.flatMap((t) => [
          t.metric('ReadThrottleEvents', { statistic: 'Sum', period: PERIOD, label: `${t.node.id} read` }),
          t.metric('WriteThrottleEvents', { statistic: 'Sum', period: PERIOD, label: `${t.node.id} write` }),
        ]),
        width: 8,
      }),
    );
    this.dashboard.addWidgets(...widgets);
  }
}
