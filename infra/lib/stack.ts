import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type Capability, ROUTES, type RouteDef } from '#functions/routes.ts';
import { Api } from './constructs/api.ts';
import { HubImport } from './constructs/hub-import.ts';
import { InferenceFunction } from './constructs/inference-function.ts';
import { KeyAuthorizer } from './constructs/key-authorizer.ts';
import { KeySync } from './constructs/key-sync.ts';
import { ModelStore } from './constructs/model-store.ts';
import { Network } from './constructs/network.ts';
import { Observability } from './constructs/observability.ts';
import { PredictionLog } from './constructs/prediction-log.ts';
import { RecordIngestion } from './constructs/record-ingestion.ts';
import { Waf } from './constructs/waf.ts';
import { checkReservedConcurrency, fairUsePlans, type StageConfig } from './stages.ts';

export interface InferenceStackProps extends StackProps {
  readonly config: StageConfig;
  /** The route table; defaults to `ROUTES` (tests pass others to cover route kinds not in it yet). */
  readonly routes?: readonly RouteDef[];
}

/**
 * One stage of the product: network, model store, prediction log, one function per
 * capability that has routes, the warm-up function, the key authorizer and the key mirror's
 * sync, the API behind WAF, and the dashboard and alarms.
 *
 * @example
 * new InferenceStack(app, 'HfServe-dev', { config: stageConfig('dev') });
 */
export class InferenceStack extends Stack {
  readonly functions = new Map<Capability, InferenceFunction>();
  readonly warm: InferenceFunction;
  readonly api: Api;
  readonly keyAuthorizer: KeyAuthorizer;
  /** The mirror of API Gateway's keys that body-keyed requests are checked against, and its sync. */
  readonly keySync: KeySync;
  readonly modelStore: ModelStore;
  readonly predictionLog: PredictionLog;
  readonly ingestion: RecordIngestion;
  readonly hubImport: HubImport;
  readonly waf: Waf;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: InferenceStackProps) {
    super(scope, id, props);
    const { config } = props;
    const routes = props.routes ?? ROUTES;

    const { vpc } = new Network(this, 'Network', { config });
    this.modelStore = new ModelStore(this, 'Models', { config, vpc });
    this.predictionLog = new PredictionLog(this, 'PredictionLog', { config });
    this.keySync = new KeySync(this, 'KeySync', { config });

    // A route the gateway answers itself (MOCK) needs no function.
    const capabilities = [...new Set(routes.filter((r) => !r.mock).map((r) => r.fn))];
    checkReservedConcurrency(config, [...capabilities, 'warm', 'import']);
    for (const name of capabilities) {
      const fn = new InferenceFunction(this, `Fn-${name}`, { name, config, vpc, modelStore: this.modelStore });
      // Records (and the result cache's writes) leave as log lines: the ingester writes them.
      // Only predict reads the log back (analytics: Query) and has a result cache (BatchGetItem).
      if (name === 'predict') {
        fn.bindTable('PREDICTIONS_TABLE', this.predictionLog.predictions, ['Query']);
        fn.bindTable('RESULT_CACHE_TABLE', this.predictionLog.resultCache, ['BatchGetItem']);
      }
      // Metered capabilities count characters or tokens per key (conditional ADD: UpdateItem only).
      if (routes.some((r) => r.fn === name && r.metered)) {
        fn.bindTable('USAGE_TABLE', this.predictionLog.usage, ['UpdateItem']);
        fn.setEnv({
          CHARACTERS_PER_DAY: String(config.fairUse.charactersPerDay),
          TOKENS_PER_DAY: String(config.fairUse.tokensPerDay),
          // Tiers with allowances of their own, by usage plan name (the authorizer's context names the key's).
          FAIR_USE_PLANS: JSON.stringify(fairUsePlans(config)),
          HEAVY_IN_FLIGHT_PER_KEY: String(config.fairUse.heavyInFlightPerKey),
        });
      }
      // Every function reads its models' shared loaded-state; its own changes leave as log lines (the ingester puts them).
      fn.bindTable('MODEL_STATE_TABLE', this.predictionLog.modelState, ['Query']);
      // Routes that take a Hugging Face id queue import jobs (conditional put) and read them.
      if (routes.some((r) => r.fn === name && r.hubImport)) {
        fn.bindTable('IMPORTS_TABLE', this.predictionLog.imports, ['GetItem', 'PutItem']);
        fn.setEnv({ HUB_IMPORT_ALLOW: config.hubImportAllow.join(',') });
      }
      // Body-keyed routes (LibreTranslate's api_key): the function checks keys against the key-sync mirror.
      if (routes.some((r) => r.fn === name && r.bodyKey))
        fn.bindTable('API_KEYS_TABLE', this.keySync.table, ['GetItem']);
      this.functions.set(name, fn);
    }
    this.ingestion = new RecordIngestion(this, 'Ingest', {
      config,
      sources: this.functions,
      predictions: this.predictionLog.predictions,
      resultCache: this.predictionLog.resultCache,
      modelState: this.predictionLog.modelState,
    });
    // Outside the VPC, the only function that calls the Hub: pulls the models the jobs table queues.
    this.hubImport = new HubImport(this, 'HubImport', {
      config,
      jobs: this.predictionLog.imports,
      bucket: this.modelStore.bucket,
      prefix: 'models',
    });
    // Fills the EFS cache after a model is published: S3 read and EFS only, no API route.
    this.warm = new InferenceFunction(this, 'Fn-warm', { name: 'warm', config, vpc, modelStore: this.modelStore });

    this.keyAuthorizer = new KeyAuthorizer(this, 'KeyAuthorizer', { config });
    this.api = new Api(this, 'Api', {
      config,
      routes,
      functions: this.functions,
      authorizer: this.keyAuthorizer.function,
    });
    // A key in plans of several APIs (stages sharing an account): the sync mirrors this API's plan.
    this.keySync.function.addEnvironment('REST_API_ID', this.api.restApi.restApiId);
    this.waf = new Waf(this, 'Waf', { config, stage: this.api.restApi.deploymentStage, routes });
    this.observability = new Observability(this, 'Observability', {
      config,
      functions: this.functions,
      warm: this.warm,
      ingestion: this.ingestion,
      keySync: this.keySync,
      api: this.api.restApi,
      routes,
      webAclMetricName: this.waf.metricName,
      tables: [
        this.predictionLog.predictions,
        this.predictionLog.resultCache,
        this.predictionLog.usage,
        this.predictionLog.modelState,
        this.predictionLog.imports,
        this.keySync.table,
      ],
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.restApi.url });
    new CfnOutput(this, 'ModelBucket', { value: this.modelStore.bucket.bucketName });
    new CfnOutput(this, 'WarmFunction', { value: this.warm.alias.functionArn });
    new CfnOutput(this, 'KeySyncFunction', {
      value: this.keySync.function.functionName,
      description: 'run it to mirror a key change for body-keyed (LibreTranslate api_key) calls before the next minute',
    });
    new CfnOutput(this, 'AlarmTopic', { value: this.observability.topic.topicArn });
    for (const [tier, plan] of this.api.usagePlans) {
      new CfnOutput(this, `UsagePlan${tier}`, {
        value: plan.usagePlanId,
        description: `usage plan of the ${tier} tier`,
      });
    }
  }
}
