import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { apiPanels, functionPanels } from '#observability/dashboard.ts';
import {
  API_KEYS_TABLE_KEYS,
  IMPORTS_TABLE_KEYS,
  MODEL_STATE_TABLE_KEYS,
  PREDICTIONS_TABLE_KEYS,
  RESULT_CACHE_TABLE_KEYS,
  type TableKeys,
  USAGE_TABLE_KEYS,
} from '#predictions/schema.ts';
import { Network } from '../../infra/lib/constructs/network.ts';
import { type FunctionName, functionSettings, STAGE_NAMES, STAGES, stageConfig } from '../../infra/lib/stages.ts';
import { resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

const capabilitiesWithRoutes = [...new Set(ROUTES.map((r) => r.fn))];
/** Functions of a stage, by the capability named in their image command. */
const functionsByName = (stage: (typeof STAGE_NAMES)[number]) => {
  const { template } = synthStage(stage);
  const fns = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).filter(
    (f) => (f.Properties as { PackageType?: string }).PackageType === 'Image',
  );
  return new Map(
    fns.map((f) => {
      const p = f.Properties as { ImageConfig: { Command: string[] } } & Record<string, unknown>;
      return [p.ImageConfig.Command[0]?.split('/')[1] ?? '', p] as const;
    }),
  );
};

describe.each(STAGE_NAMES)('stack for stage %s', (stage) => {
  const config = STAGES[stage];

  it(
    'network: isolated subnets only, no NAT or internet gateway, S3 and DynamoDB gateway endpoints',
    () => {
      const { template } = synthStage(stage);

      template.resourceCountIs('AWS::EC2::NatGateway', 0);
      template.resourceCountIs('AWS::EC2::InternetGateway', 0);
      const endpoints = Object.values(resourcesOf(template, 'AWS::EC2::VPCEndpoint')).map(
        (e) => e.Properties as { VpcEndpointType?: string; ServiceName: unknown },
      );
      expect(endpoints.filter((e) => e.VpcEndpointType === 'Gateway')).toHaveLength(2);
      expect(JSON.stringify(endpoints)).toMatch(/\.s3"/);
      expect(JSON.stringify(endpoints)).toMatch(/\.dynamodb"/);
      template.resourceCountIs('AWS::EC2::FlowLog', 1);
      // Functions: HTTPS out (to the gateway endpoints) and NFS to EFS, nothing else.
      const functionGroups = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroup'))
        .map((g) => g.Properties as { GroupDescription: string; SecurityGroupEgress: { FromPort?: number }[] })
        .filter((g) => g.GroupDescription.includes('function'));
      expect(functionGroups).toHaveLength(capabilitiesWithRoutes.length + 1);
      for (const g of functionGroups) expect(g.SecurityGroupEgress.map((e) => e.FromPort)).toEqual([443]);
      const nfs = Object.values(resourcesOf(template, 'AWS::EC2::SecurityGroupEgress')).map(
        (e) => (e.Properties as { FromPort: number }).FromPort,
      );
      expect(nfs).toEqual(functionGroups.map(() => 2049));
    },
    SYNTH_TIMEOUT_MS,
  );

  it('model store: versioned, encrypted, SSL-only, private, access-logged bucket; encrypted EFS with a POSIX access point', () => {
    const { template } = synthStage(stage);

    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'model-bucket/' }),
    });
    const policies = Object.values(resourcesOf(template, 'AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(JSON.stringify(p.Properties)).toContain('"aws:SecureTransport":"false"');
    }
    template.hasResourceProperties('AWS::EFS::FileSystem', { Encrypted: true });
    template.hasResourceProperties('AWS::EFS::AccessPoint', {
      RootDirectory: { Path: '/models', CreationInfo: { OwnerUid: '1000', OwnerGid: '1000', Permissions: '750' } },
      PosixUser: { Uid: '1000', Gid: '1000' },
    });
  });

  it('prediction log and key mirror: on-demand tables with PITR, TTL where items expire, encryption and the GSIs of schema.ts', () => {
    const { template } = synthStage(stage);

    template.resourceCountIs('AWS::DynamoDB::Table', 6);
    const tables: TableKeys[] = [
      PREDICTIONS_TABLE_KEYS,
      RESULT_CACHE_TABLE_KEYS,
      USAGE_TABLE_KEYS,
      MODEL_STATE_TABLE_KEYS,
      API_KEYS_TABLE_KEYS,
      IMPORTS_TABLE_KEYS,
    ];
    for (const keys of tables) {
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: Match.arrayWith([{ AttributeName: keys.partitionKey, KeyType: 'HASH' }]),
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: keys.ttlAttribute
          ? { AttributeName: keys.ttlAttribute, Enabled: true }
          : Match.absent(),
        SSESpecification: { SSEEnabled: true },
        ...(keys.globalSecondaryIndexes.length
          ? {
              GlobalSecondaryIndexes: keys.globalSecondaryIndexes.map((gsi) =>
                Match.objectLike({
                  IndexName: gsi.indexName,
                  KeySchema: [
                    { AttributeName: gsi.partitionKey, KeyType: 'HASH' },
                    { AttributeName: gsi.sortKey, KeyType: 'RANGE' },
                  ],
                }),
              ),
            }
          : {}),
      });
    }
  });

  it('functions: one per capability with routes plus warm, arm64, traced, EFS at /mnt/models, settings from the stage', () => {
    const fns = functionsByName(stage);
    // The API key authorizer and the key sync are the image's too, but small, outside the VPC, with no model cache.
    for (const name of ['authorizer', 'key-sync']) {
      const small = fns.get(name);
      fns.delete(name);
      expect(small, name).toMatchObject({
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        MemorySize: 256,
      });
      expect(small?.VpcConfig, name).toBeUndefined();
      expect(small?.FileSystemConfigs, name).toBeUndefined();
    }
    expect([...fns.keys()].sort()).toEqual([...capabilitiesWithRoutes, 'import', 'ingest', 'warm'].sort());
    for (const [name, p] of fns) {
      // The records ingester reads no model, the Hub import needs egress: no EFS, no VPC (their own tests below).
      if (name === 'ingest' || name === 'import') continue;
      const settings = functionSettings(config, name as FunctionName);
      expect(p.Architectures).toEqual(['arm64']);
      expect(p.TracingConfig).toEqual({ Mode: 'Active' });
      expect(p.MemorySize).toBe(settings.memoryMb);
      expect(p.Timeout).toBe(settings.timeoutSeconds);
      expect(p.ReservedConcurrentExecutions).toBe(settings.reservedConcurrency);
      expect(p.FileSystemConfigs).toEqual([expect.objectContaining({ LocalMountPath: '/mnt/models' })]);
      expect(p.VpcConfig).toBeDefined();
      const env = (p.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(env).toMatchObject({
        STAGE: stage,
        MODEL_CACHE_DIR: '/mnt/models',
        MODEL_PREFIX: 'models',
        STORE_RAW_INPUTS: String(config.storeRawInputs),
        MAX_TEXT_CHARS: '5000',
        POWERTOOLS_METRICS_NAMESPACE: config.metricsNamespace,
        POWERTOOLS_SERVICE_NAME: `${config.serviceName}-${name}`,
      });
      expect(env.MODEL_BUCKET).toBeDefined();
      // Source maps at import cost each cold start ~170 ms: the inference functions run without.
      expect(env.NODE_OPTIONS).toBeUndefined();
      // Records leave as log lines; only predict reads the table (analytics).
      expect(env.PREDICTIONS_TABLE !== undefined).toBe(name === 'predict');
    }
  });

  it('functions: each has a log group with the stage retention and a live alias with its provisioned concurrency', () => {
    const { template } = synthStage(stage);

    const retentions = Object.values(resourcesOf(template, 'AWS::Logs::LogGroup')).map(
      (g) => (g.Properties as { RetentionInDays?: number }).RetentionInDays,
    );
    expect(retentions.every((r) => r === config.logRetentionDays)).toBe(true);
    const aliases = Object.values(resourcesOf(template, 'AWS::Lambda::Alias')).map(
      (a) => a.Properties as Record<string, unknown>,
    );
    expect(aliases).toHaveLength(capabilitiesWithRoutes.length + 1);
    const provisioned = aliases
      .map(
        (a) =>
          (a.ProvisionedConcurrencyConfig as { ProvisionedConcurrentExecutions: number } | undefined)
            ?.ProvisionedConcurrentExecutions,
      )
      .filter((n) => n !== undefined)
      .sort();
    const expected = [...capabilitiesWithRoutes, 'warm' as const]
      .map((n) => functionSettings(config, n).provisionedConcurrency)
      .filter((n) => n !== undefined)
      .sort();
    expect(provisioned).toEqual(expected);
  });

  it('API: API key on every method but /health and the LibreTranslate routes (body keys checked by the function), usage plan per tier with throttle and quota, access logs', () => {
    const { template } = synthStage(stage);

    const methods = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method')).map(
      (m) => m.Properties as { HttpMethod: string; ApiKeyRequired?: boolean; ResourceId: { Ref: string } },
    );
    const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
    const pathOf = (id: string): string => {
      const r = resources[id]?.Properties as { PathPart: string; ParentId: { Ref?: string } } | undefined;
      if (!r) return '';
      return `${r.ParentId.Ref ? pathOf(r.ParentId.Ref) : ''}/${r.PathPart}`;
    };
    // LibreTranslate's POST /translate and /detect are keyless at the gateway: their functions check the
    // header or body api_key against the same keys and meter it (functions/body-key.ts, docs/keys.md).
    const keyless = ['/health', '/languages', '/frontend/settings', '/translate', '/detect'];
    const open = methods.filter((m) => m.HttpMethod !== 'OPTIONS' && !(m.ApiKeyRequired ?? false));
    expect(open.map((m) => pathOf(m.ResourceId.Ref)).sort()).toEqual([...keyless].sort());
    for (const m of methods.filter((x) => x.HttpMethod !== 'OPTIONS')) {
      expect(m.ApiKeyRequired ?? false).toBe(!keyless.includes(pathOf(m.ResourceId.Ref)));
    }
    const plans = Object.values(resourcesOf(template, 'AWS::ApiGateway::UsagePlan')).map(
      (p) => p.Properties as Record<string, unknown>,
    );
    expect(plans).toHaveLength(config.usagePlans.length);
    for (const tier of config.usagePlans) {
      expect(plans).toContainEqual(
        expect.objectContaining({
          UsagePlanName: `${config.serviceName}-${stage}-${tier.name}`,
          Throttle: { RateLimit: tier.rateLimit, BurstLimit: tier.burstLimit },
          Quota: { Limit: tier.quota.limit, Period: tier.quota.period },
        }),
      );
    }
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: stage,
      AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
      TracingEnabled: true,
      MethodSettings: [Match.objectLike({ MetricsEnabled: true, LoggingLevel: 'ERROR', DataTraceEnabled: false })],
    });
    template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'INVALID_API_KEY',
      StatusCode: '403',
      ResponseTemplates: { 'application/json': Match.stringLikeRegexp('x-api-key') },
    });
  });

  it('WAF: managed rule groups and rate rules (details in edge.test.ts), associated with the API stage', () => {
    const { template } = synthStage(stage);

    template.resourceCountIs('AWS::WAFv2::WebACL', 1);
    const acl = Object.values(resourcesOf(template, 'AWS::WAFv2::WebACL'))[0]?.Properties as {
      Scope: string;
      Rules: { Name: string }[];
    };
    expect(acl.Scope).toBe('REGIONAL');
    expect(acl.Rules.map((r) => r.Name).sort()).toEqual(
      [
        'AWSManagedRulesAmazonIpReputationList',
        'AWSManagedRulesCommonRuleSet',
        'AWSManagedRulesKnownBadInputsRuleSet',
        'BodyRulesWithoutUserText',
        'RatePerApiKey',
        'RatePerBearerKey',
        'RatePerIp',
      ].sort(),
    );
    const association = Object.values(resourcesOf(template, 'AWS::WAFv2::WebACLAssociation'))[0];
    expect(JSON.stringify(association?.Properties?.ResourceArn)).toMatch(/\/restapis\/.*\/stages\//);
    const stageId = Object.keys(resourcesOf(template, 'AWS::ApiGateway::Stage'))[0];
    expect(association?.DependsOn).toContain(stageId);
  });

  it('records ingestion: a subscription filter per capability log group to the ingester, retried, then a DLQ', () => {
    const { template } = synthStage(stage);
    const ingest = functionsByName(stage).get('ingest')!;
    const filters = Object.values(resourcesOf(template, 'AWS::Logs::SubscriptionFilter')).map(
      (f) => f.Properties as { FilterPattern: string; LogGroupName: unknown; DestinationArn: unknown },
    );

    expect(filters).toHaveLength(capabilitiesWithRoutes.length);
    for (const f of filters) expect(f.FilterPattern).toBe('{ $.type = "predictionRecords" }');
    expect(new Set(filters.map((f) => JSON.stringify(f.LogGroupName))).size).toBe(capabilitiesWithRoutes.length);
    expect(ingest.DeadLetterConfig).toEqual({ TargetArn: expect.anything() });
    expect(ingest.VpcConfig).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    // The capabilities write no table through the log: only the ingester BatchWrites (records and
    // the result cache), and only it puts model-state items (the functions print their changes).
    type Statement = { Action: string | string[]; Resource: unknown };
    const writersOf = (action: string) =>
      Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([id, p]) =>
        ((p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement ?? [])
          .filter((st) => [st.Action].flat().includes(action))
          .map((st) => ({ id, onModelState: JSON.stringify(st.Resource).includes('ModelState') })),
      );
    expect([...new Set(writersOf('dynamodb:BatchWriteItem').map((w) => w.id))]).toEqual([
      expect.stringMatching(/^Ingest/),
    ]);
    expect(writersOf('dynamodb:BatchWriteItem').filter((w) => w.onModelState)).toEqual([]);
    expect(writersOf('dynamodb:PutItem').filter((w) => w.onModelState)).toEqual([
      { id: expect.stringMatching(/^Ingest/), onModelState: true },
    ]);
    expect((ingest.Environment as { Variables: Record<string, unknown> }).Variables.MODEL_STATE_TABLE).toBeDefined();
    // The analytics counters' ADDs: UpdateItem on the prediction table, by the ingester only.
    const env = ingest.Environment as { Variables: Record<string, unknown> };
    const tableRef = JSON.stringify(env.Variables.PREDICTIONS_TABLE).match(/"(?:Ref|Fn::ImportValue)":"([^"]+)"/)?.[1];
    expect(tableRef).toBeDefined();
    const counterWriters = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([id, p]) =>
      ((p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement ?? [])
        .filter((st) => [st.Action].flat().includes('dynamodb:UpdateItem'))
        .filter((st) => JSON.stringify(st.Resource).includes(tableRef!))
        .map((st) => ({ id, resource: st.Resource })),
    );
    expect(counterWriters).toEqual([{ id: expect.stringMatching(/^Ingest/), resource: expect.anything() }]);
  });

  it('Hub import: outside the VPC, started by the jobs stream for queued jobs only, writes imported names only', () => {
    const { template } = synthStage(stage);
    const fn = functionsByName(stage).get('import')!;
    const settings = functionSettings(config, 'import');

    // The one function with egress: no VPC, no EFS; sized for a download, a validation and an upload.
    expect(fn.VpcConfig).toBeUndefined();
    expect(fn.FileSystemConfigs).toBeUndefined();
    expect(fn).toMatchObject({ MemorySize: settings.memoryMb, Timeout: 900, EphemeralStorage: { Size: 10_240 } });
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env).toMatchObject({ MODEL_PREFIX: 'models', POWERTOOLS_SERVICE_NAME: `${config.serviceName}-import` });
    expect(env.IMPORTS_TABLE).toBeDefined();
    expect(env.HF_TOKEN).toBeUndefined();
    // The jobs table streams new images; the mapping passes queued jobs only, one at a time, then a DLQ.
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: IMPORTS_TABLE_KEYS.partitionKey, KeyType: 'HASH' }],
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      MaximumRetryAttempts: 2,
      StartingPosition: 'LATEST',
      FilterCriteria: {
        Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { status: { S: ['queued'] } } } }) }],
      },
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    // Writes only under imported names (org--name), never deletes.
    type Statement = { Action: string | string[]; Resource: unknown };
    const statements = Object.entries(resourcesOf(template, 'AWS::IAM::Policy'))
      .filter(([id]) => id.startsWith('HubImport'))
      .flatMap(([, p]) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement);
    const puts = statements.filter((st) => [st.Action].flat().includes('s3:PutObject'));
    expect(puts).toHaveLength(1);
    expect(JSON.stringify(puts[0]?.Resource)).toContain('/models/*--*/*');
    expect(statements.flatMap((st) => [st.Action].flat()).filter((a) => /Delete/.test(a))).toEqual([]);
    // The serving function whose routes take Hub ids queues jobs: GetItem and PutItem, and the allowlist.
    const completions = functionsByName(stage).get('completions')!;
    const vars = (completions.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(vars.HUB_IMPORT_ALLOW).toBe(config.hubImportAllow.join(','));
    expect(vars.IMPORTS_TABLE).toBeDefined();
  });

  it('observability: dashboard, alarms per function and on API 5xx, all to an encrypted SNS topic', () => {
    const { template } = synthStage(stage);

    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const metric of ['ColdStart', 'ModelLoadMs', 'InferenceMs', 'BlockedRequests', 'WriteThrottleEvents', 'p99']) {
      expect(body).toContain(metric);
    }
    const alarms = Object.values(resourcesOf(template, 'AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties as { AlarmActions: unknown[]; MetricName?: string },
    );
    // Errors, p95 duration and throttles per function; API 5xx; warm-up errors; the
    // ingester's errors, dead letters and prediction-log fallback; the key sync's errors.
    expect(alarms).toHaveLength(capabilitiesWithRoutes.length * 3 + 2 + 3 + 1);
    expect(alarms.map((a) => a.MetricName)).toContain('5XXError');
    for (const a of alarms) expect(a.AlarmActions).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('dashboard: the panels the local metrics view draws, per function and per route', () => {
    const body = JSON.stringify(synthStage(stage).template.findResources('AWS::CloudWatch::Dashboard'));

    const panels = [...capabilitiesWithRoutes.flatMap((fn) => functionPanels(fn)), ...apiPanels(ROUTES)];
    for (const panel of panels) expect(body).toContain(panel.title);
    for (const r of ROUTES) {
      expect(body).toContain(`${r.method} ${r.path} 4XXError Sum`);
      expect(body).toContain(`${r.method} ${r.path} Latency p95`);
    }
    expect(body).toContain('TokensPerSecond');
  });
});

describe('network construct', () => {
  it('adds the interface endpoints a stage lists, in the isolated subnets with private DNS', () => {
    const stack = new Stack(new App(), 'NetworkOnly');
    new Network(stack, 'Network', { config: stageConfig('dev', { interfaceEndpoints: ['logs', 'monitoring'] }) });

    const endpoints = Object.values(resourcesOf(Template.fromStack(stack), 'AWS::EC2::VPCEndpoint'))
      .map((e) => e.Properties as { VpcEndpointType?: string; PrivateDnsEnabled?: boolean; ServiceName: unknown })
      .filter((e) => e.VpcEndpointType === 'Interface');

    expect(endpoints).toHaveLength(2);
    expect(endpoints.every((e) => e.PrivateDnsEnabled)).toBe(true);
    expect(JSON.stringify(endpoints)).toMatch(/\.logs"/);
    expect(JSON.stringify(endpoints)).toMatch(/\.monitoring"/);
  });
});

describe('stage configuration', () => {
  it('names the valid stages when the stage is unknown', () => {
    expect(() => stageConfig('production')).toThrow(/dev, staging, prod/);
  });

  it('rejects limits whose largest valid body API Gateway would refuse', () => {
    expect(() => stageConfig('dev', { limits: { maxTextChars: 100_000, maxBatchSize: 64 } })).toThrow(/10485760/);
  });
});
