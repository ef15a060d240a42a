import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { APP_METRICS, type AppMetricName, AWS_METRICS } from '#observability/names.ts';
import { availabilityZonesContext, stageFromContext } from '../../infra/lib/context.ts';
import { InferenceStack } from '../../infra/lib/stack.ts';
import { STAGE_NAMES, STAGES } from '../../infra/lib/stages.ts';
import { resourcesOf, SYNTH_CONTEXT, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

/** A metric as a dashboard widget or an alarm names it. */
interface NamedMetric {
  where: string;
  namespace: string;
  name: string;
  dimensions: string[];
}

/** A math expression's row, `[{expression, label, …}]`: the metrics it reads have rows of their own. */
const isExpression = (row: unknown[]): boolean =>
  row.length === 1 && typeof row[0] === 'object' && row[0] !== null && 'expression' in row[0];

/** Every math expression of the dashboard's graph widgets, with its widget's title. */
const widgetExpressions = (stage: (typeof STAGE_NAMES)[number]) =>
  synthStage(stage).stack.observability.widgets.flatMap((w) =>
    (
      synthStage(stage).stack.resolve(w.toJson()) as { properties?: { title?: string; metrics?: unknown[][] } }[]
    ).flatMap((json) =>
      (json.properties?.metrics ?? []).filter(isExpression).map((row) => ({
        title: String(json.properties?.title),
        ...(row[0] as { expression: string; label?: string }),
      })),
    ),
  );

/** `[namespace, name, dim, value, …, {options}]`, the rows CDK writes into a graph widget (math expressions aside). */
const widgetMetrics = (stage: (typeof STAGE_NAMES)[number]): NamedMetric[] =>
  synthStage(stage).stack.observability.widgets.flatMap((w) =>
    (
      synthStage(stage).stack.resolve(w.toJson()) as { properties?: { title?: string; metrics?: unknown[][] } }[]
    ).flatMap((json) =>
      (json.properties?.metrics ?? []).flatMap((row) => {
        if (isExpression(row)) return [];
        // Dimension values may be intrinsics ({Ref: …}); the options object closes the row.
        const options = row.findIndex(
          (x, i) =>
            i >= 2 && i % 2 === 0 && typeof x === 'object' && x !== null && !('Ref' in x) && !('Fn::GetAtt' in x),
        );
        const [namespace, name, ...dims] = (options < 0 ? row : row.slice(0, options)) as string[];
        return [
          {
            where: `widget "${json.properties?.title}"`,
            namespace: String(namespace),
            name: String(name),
            dimensions: dims.filter((_, i) => i % 2 === 0).map(String),
          },
        ];
      }),
    ),
  );

const alarmMetrics = (stage: (typeof STAGE_NAMES)[number]): NamedMetric[] =>
  Object.entries(resourcesOf(synthStage(stage).template, 'AWS::CloudWatch::Alarm')).map(([id, a]) => {
    const p = a.Properties as { Namespace: string; MetricName: string; Dimensions?: { Name: string }[] };
    return {
      where: `alarm ${id}`,
      namespace: p.Namespace,
      name: p.MetricName,
      dimensions: (p.Dimensions ?? []).map((d) => d.Name),
    };
  });

/** Why a metric reference draws or alarms on nothing: not emitted under that name and dimension set. */
const problemOf = (m: NamedMetric, appNamespace: string): string | undefined => {
  const dims = [...m.dimensions].sort().join(',');
  if (m.namespace === appNamespace) {
    const declared = APP_METRICS[m.name as AppMetricName];
    if (!declared) return `${m.where}: ${m.name} is not a metric the functions publish`;
    if ([...declared.dimensions].sort().join(',') !== dims) {
      return `${m.where}: ${m.name} is published with [${declared.dimensions}], not [${m.dimensions}]`;
    }
    return undefined;
  }
  const sets = AWS_METRICS[m.namespace]?.[m.name];
  if (!sets) return `${m.where}: ${m.namespace} ${m.name} is not a metric the stack reads from AWS_METRICS`;
  if (!sets.some((s) => [...s].sort().join(',') === dims))
    return `${m.where}: ${m.name} has no dimension set [${dims}]`;
  return undefined;
};

describe.each(STAGE_NAMES)('metrics of stage %s', (stage) => {
  it(
    'every dashboard widget and alarm names a metric and dimension set the code (or AWS) publishes',
    () => {
      const named = [...widgetMetrics(stage), ...alarmMetrics(stage)];

      expect(named.length).toBeGreaterThan(40);
      expect(named.map((m) => problemOf(m, STAGES[stage].metricsNamespace)).filter(Boolean)).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('draws the result cache hit rate of predict, translate and detect as hits / (hits + misses)', () => {
    const rates = widgetExpressions(stage).filter((e) => e.label === 'CacheHitRate %');

    expect(rates.map((e) => e.title.split(':')[0]).sort()).toEqual(['detect', 'predict', 'translate']);
    for (const e of rates) expect(e.expression).toBe('100 * part / (part + rest)');
  });

  it('watches the ingester (fallback, errors, dead letters), the warm function and the key sync, and every alarm notifies the topic', () => {
    const { template } = synthStage(stage);
    const alarms = alarmMetrics(stage);
    const topic = Object.keys(resourcesOf(template, 'AWS::SNS::Topic'))[0];

    // Records are written by the ingester only: its fallback is the one to watch.
    expect(alarms.filter((a) => a.name === 'PredictionLogFallback').map((a) => a.where)).toEqual([
      expect.stringContaining('ingestPredictionLogFallback'),
    ]);
    expect(alarms.some((a) => a.where.includes('ingestErrors') && a.name === 'Errors')).toBe(true);
    expect(
      alarms.some((a) => a.where.includes('ingestDeadLetters') && a.name === 'ApproximateNumberOfMessagesVisible'),
    ).toBe(true);
    expect(alarms.some((a) => a.where.includes('warmErrors') && a.name === 'Errors')).toBe(true);
    // One failed sync heals a minute later: the alarm fires when every run of its 5-minute period failed.
    const keySync = Object.entries(resourcesOf(template, 'AWS::CloudWatch::Alarm')).find(([id]) =>
      id.includes('keySyncErrors'),
    )?.[1].Properties;
    expect(keySync).toMatchObject({ MetricName: 'Errors', Period: 300, Threshold: 5 });
    expect(widgetMetrics(stage).some((m) => m.where.includes('warm'))).toBe(true);
    for (const a of Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm'))) {
      expect((a.Properties as { AlarmActions: unknown[] }).AlarmActions).toEqual([{ Ref: topic }]);
    }
  });
});

describe('metric checks', () => {
  it('report a widget metric the code does not publish, or publishes with other dimensions', () => {
    expect(
      problemOf({ where: 'w', namespace: 'HfServe', name: 'Latency', dimensions: ['service'] }, 'HfServe'),
    ).toMatch(/not a metric/);
    expect(
      problemOf({ where: 'w', namespace: 'HfServe', name: 'ColdStart', dimensions: ['service'] }, 'HfServe'),
    ).toMatch(/function_name/);
    expect(
      problemOf({ where: 'w', namespace: 'AWS/Lambda', name: 'Errors', dimensions: ['Resource'] }, 'HfServe'),
    ).toMatch(/no dimension set/);
  });

  it(
    'subscribes the e-mail given with -c alarmEmail= to the alarm topic',
    () => {
      const context = { stage: 'prod', ...SYNTH_CONTEXT.prod, alarmEmail: 'oncall@example.com' };
      const { config, env } = stageFromContext((k) => context[k as keyof typeof context]);
      const zones = availabilityZonesContext(config);
      const app = new App({ context: { ...context, ...(zones ? { [zones[0]]: zones[1] } : {}) } });

      const template = Template.fromStack(new InferenceStack(app, 'HfServe-prod', { config, env }));

      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
      template.resourceCountIs('AWS::SNS::Subscription', 1);
      synthStage('prod').template.resourceCountIs('AWS::SNS::Subscription', 0);
    },
    SYNTH_TIMEOUT_MS,
  );
});
