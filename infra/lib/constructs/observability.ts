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
import type { RouteDef } from '#functions/routes.ts';
import {
  API_NAMESPACE,
  apiPanels,
  functionPanels,
  type MetricRef,
  metricLabel,
  type Panel,
} from '#observability/dashboard.ts';
import {
  APP_METRICS,
  type AppMetricName,
  AWS_NAMESPACES,
  COLD_START_FUNCTION_DIMENSION,
  MetricName,
  SERVICE_DIMENSION,
} from '#observability/names.ts';
import type { StageConfig } from '../stages.ts';
import type { InferenceFunction } from './inference-function.ts';
import { KEY_SYNC_INTERVAL, type KeySync } from './key-sync.ts';
import type { RecordIngestion } from './record-ingestion.ts';

export interface ObservabilityProps {
  readonly config: StageConfig;
  /** Functions serving API routes, by name. */
  readonly functions: ReadonlyMap<string, InferenceFunction>;
  /** The model-cache warm-up function (no route: invoked after a publish). */
  readonly warm?: InferenceFunction;
  /** The prediction records ingester and its dead-letter queue. */
  readonly ingestion?: RecordIngestion;
  /** The key mirror's sync (body-keyed requests' keys): alarmed when it keeps failing. */
  readonly keySync?: KeySync;
  readonly api: apigw.RestApi;
  /** The API's routes: one line each in the per-route panels. */
  readonly routes: readonly RouteDef[];
  /** The web ACL's metric name (`WebACL` dimension). */
  readonly webAclMetricName: string;
  readonly tables: readonly dynamodb.Table[];
}

const PERIOD = Duration.minutes(5);

/**
 * The dimensions of one function's application metric, as the code publishes it
 * (`APP_METRICS`): a metric counted per value (a label, a language) has no one series per
 * function to draw or alarm on.
 */
const appDimensions = (name: AppMetricName, fn: InferenceFunction): Record<string, string> => {
  const values: Record<string, string> = {
    [SERVICE_DIMENSION]: fn.serviceName,
    [COLD_START_FUNCTION_DIMENSION]: fn.function.functionName,
  };
  return Object.fromEntries(
    APP_METRICS[name].dimensions.map((d) => {
      const value = values[d];
      if (value === undefined) throw new Error(`${name} is published per ${d}: no single series to draw or alarm on`);
      return [d, value];
    }),
  );
};

/**
 * One dashboard per stage and the alarms that page: function errors, p95 duration
 * near the timeout, throttles, prediction records written to the fallback log line
 * instead of DynamoDB, warm-up failures, API 5xx. The dashboard draws the panels of
 * `layers/observability/dashboard.ts` (the local metrics view draws the same ones), then
 * WAF blocks and DynamoDB throttles. Alarms go to an SNS topic encrypted with a
 * key CloudWatch may use (the AWS-managed SNS key does not let CloudWatch publish).
 *
 * @example
 * new Observability(this, 'Observability', { config, functions, api, routes, webAclMetricName, tables });
 */
export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Every widget of the dashboard (the tests read their metrics). */
  readonly widgets: cloudwatch.IWidget[] = [];

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

    const appMetric = (name: AppMetricName, fn: InferenceFunction, options: cloudwatch.MetricOptions) =>
      new cloudwatch.Metric({
        ...options,
        namespace: config.metricsNamespace,
        metricName: name,
        dimensionsMap: appDimensions(name, fn),
      });
    const metricOf = (m: MetricRef, fn?: InferenceFunction): cloudwatch.IMetric => {
      const options = { statistic: m.statistic, period: PERIOD };
      if (m.source === 'api') {
        if (!m.route) return api.metric(m.name, options);
        return new cloudwatch.Metric({
          ...options,
          namespace: API_NAMESPACE,
          metricName: m.name,
          dimensionsMap: {
            ApiName: api.restApiName,
            Stage: api.deploymentStage.stageName,
            Method: m.route.method,
            Resource: m.route.path,
          },
          label: metricLabel(m),
        });
      }
      if (!fn) throw new Error(`${m.name}: a function metric needs its function`);
      if (m.source === 'ratio') {
        const sum = { statistic: 'Sum', period: PERIOD };
        return new cloudwatch.MathExpression({
          expression: '100 * part / (part + rest)',
          usingMetrics: { part: appMetric(m.part, fn, sum), rest: appMetric(m.rest, fn, sum) },
          label: metricLabel(m),
          period: PERIOD,
        });
      }
      if (m.source === 'lambda') return fn.function.metric(m.name, options);
      return appMetric(m.name, fn, options);
    };
    const graph = (panel: Panel, fn?: InferenceFunction) =>
      new cloudwatch.GraphWidget({
        title: panel.title,
        left: panel.left.map((m) => metricOf(m, fn)),
        right: panel.right.map((m) => metricOf(m, fn)),
        width: 8,
      });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${config.serviceName}-${config.stage}`,
      defaultInterval: Duration.hours(3),
    });
    const widgets = this.widgets;
    for (const [name, fn] of functions) {
      const f = fn.function;
      widgets.push(...functionPanels(name).map((panel) => graph(panel, fn)));
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
    if (props.ingestion) {
      const ingest = props.ingestion;
      const i = ingest.function;
      widgets.push(
        new cloudwatch.GraphWidget({
          title: 'ingest: invocations, errors, duration p95 (ms)',
          left: [i.metricInvocations({ period: PERIOD }), i.metricErrors({ period: PERIOD })],
          right: [i.metricDuration({ statistic: 'p95', period: PERIOD })],
          width: 8,
        }),
      );
      alarm(
        'ingestErrors',
        i.metricErrors({ period: PERIOD }),
        1,
        'ingest: a batch of prediction records failed (retried)',
      );
      // A batch in the dead-letter queue is in no table: someone must redrive it.
      alarm(
        'ingestDeadLetters',
        ingest.deadLetters.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        1,
        'ingest: prediction record batches in the dead-letter queue (redrive them)',
      );
      // A record DynamoDB refused is only in the ingester's fallback line (and the retried batch).
      alarm(
        'ingestPredictionLogFallback',
        new cloudwatch.Metric({
          namespace: config.metricsNamespace,
          metricName: MetricName.PredictionLogFallback,
          dimensionsMap: { [SERVICE_DIMENSION]: ingest.serviceName },
          statistic: 'Sum',
          period: PERIOD,
        }),
        1,
        'ingest: prediction records written to the predictionLogFallback log line instead of DynamoDB',
      );
    }
    if (props.keySync) {
      // One failed run heals at the next (a minute later); every run of a period failing means
      // key changes no longer reach body-keyed calls.
      const runs = Math.round(PERIOD.toMinutes() / KEY_SYNC_INTERVAL.toMinutes());
      alarm(
        'keySyncErrors',
        props.keySync.function.metricErrors({ period: PERIOD }),
        runs,
        `key-sync: every run for ${PERIOD.toMinutes()} minutes failed; key changes do not reach body-keyed (LibreTranslate api_key) calls`,
      );
    }
    if (props.warm) {
      const w = props.warm.function;
      widgets.push(
        new cloudwatch.GraphWidget({
          title: 'warm: invocations, errors, duration p95 (ms)',
          left: [w.metricInvocations({ period: PERIOD }), w.metricErrors({ period: PERIOD })],
          right: [w.metricDuration({ statistic: 'p95', period: PERIOD })],
          width: 8,
        }),
      );
      alarm('warmErrors', w.metricErrors({ period: PERIOD }), 1, 'warm: a model-cache warm-up failed');
    }

    alarm(
      'Api5xx',
      api.metricServerError({ period: PERIOD, statistic: 'Sum' }),
      config.alarms.api5xx,
      'API: 5xx responses',
    );
    const wafBlocked = new cloudwatch.Metric({
      namespace: AWS_NAMESPACES.waf,
      metricName: 'BlockedRequests',
      dimensionsMap: { WebACL: props.webAclMetricName, Region: region, Rule: 'ALL' },
      statistic: 'Sum',
      period: PERIOD,
    });
    widgets.push(
      ...apiPanels(props.routes).map((panel) => graph(panel)),
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
