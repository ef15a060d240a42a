import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ROUTES } from '#functions/routes.ts';
import { REPO_ROOT } from '../../infra/lib/image.ts';
import { STAGE_NAMES } from '../../infra/lib/stages.ts';
import { apiMethods, resourcesOf, SYNTH_TIMEOUT_MS, synthStage } from './synth.ts';

/**
 * Each cdk-nag acknowledgement's reason checked against the synthesized template: what it
 * names must be there, and what it says of it must be true (a "read-only" grant grants
 * only reads, a named action is granted, a "conditioned" statement has a condition). An
 * acknowledgement no check here understands fails, so a new one comes with its check.
 */

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

/** A template value the way cdk-nag prints it in a finding: `<Logical.Arn>/models/*`, `<AWS::Partition>`. */
const nagString = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if (v['Fn::GetAtt']) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  if (v.Ref) return `<${String(v.Ref)}>`;
  if (v['Fn::Join']) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(nagString).join(sep);
  }
  return JSON.stringify(value);
};
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);

/** Read actions: nothing that writes, deletes or changes configuration. */
const READ_ACTION = /^[a-z0-9-]+:(Get|List|Describe|Query|Scan|BatchGet|Head)[A-Za-z*]*$/;

const acknowledgementsOf = (stage: (typeof STAGE_NAMES)[number]) => {
  const { stack } = synthStage(stage);
  const seen = new Map<string, string>();
  for (const c of stack.node.findAll()) {
    for (const m of c.node.metadata.filter((x) => x.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const [id, reason] of Object.entries(m.data as Record<string, string>)) {
        if (id.startsWith('Annotation::AwsSolutions-')) seen.set(id.replace(/^Annotation::/, ''), reason);
      }
    }
  }
  return [...seen].map(([id, reason]) => ({ id, reason }));
};

const statementsOf = (stage: (typeof STAGE_NAMES)[number]): Statement[] =>
  Object.values(resourcesOf(synthStage(stage).template, 'AWS::IAM::Policy')).flatMap(
    (p) => (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement,
  );

/** The checks, by rule: each returns the problems it finds with one acknowledgement. */
const check = (stage: (typeof STAGE_NAMES)[number], id: string, reason: string): string[] => {
  const { template } = synthStage(stage);
  const problems: string[] = [];
  const finding = /^AwsSolutions-([A-Z]+\d+)(?:\[(Resource|Action|Policy)::(.+)\])?$/.exec(id);
  if (!finding) return [`${id}: not a cdk-nag rule id`];
  const [, rule, kind, target] = finding;
  const statements = statementsOf(stage);
  const named = [...reason.matchAll(/\b[a-z0-9-]+:[A-Z][A-Za-z*]+/g)].map((m) => m[0]);

  if (rule === 'IAM5' && kind && target) {
    const hits = statements.filter((s) =>
      kind === 'Resource' ? list(s.Resource).some((r) => nagString(r) === target) : list(s.Action).includes(target),
    );
    if (hits.length === 0) problems.push(`${id}: no statement of the template has it (a stale acknowledgement)`);
    const actions = hits.flatMap((s) => list(s.Action));
    if (/read-only/.test(reason)) {
      const writes = actions.filter((a) => !READ_ACTION.test(a));
      if (writes.length) problems.push(`${id}: says read-only, grants ${writes.join(', ')}`);
    }
    for (const action of named) {
      if (!actions.includes(action)) problems.push(`${id}: names ${action}, which no statement with it grants`);
    }
    if (/conditioned/.test(reason)) {
      const conditioned = hits.filter((s) => list(s.Action).some((a) => named.includes(a)) && s.Condition);
      if (conditioned.length === 0) problems.push(`${id}: says conditioned, no such statement has a condition`);
    }
    if (
      /\bindex|indexes\b/.test(reason) &&
      !hits.some((s) => list(s.Resource).some((r) => /\/index\//.test(nagString(r))))
    ) {
      problems.push(`${id}: speaks of indexes, grants none`);
    }
  } else if (rule === 'IAM4' && kind === 'Policy' && target) {
    const roles = Object.values(resourcesOf(template, 'AWS::IAM::Role')).map(
      (r) => (r.Properties as { ManagedPolicyArns?: unknown[] }).ManagedPolicyArns ?? [],
    );
    if (!roles.some((arns) => arns.some((a) => nagString(a) === target))) {
      problems.push(`${id}: no role has this managed policy`);
    }
  } else if (rule === 'S1') {
    // "the server access log bucket of the model bucket": some bucket logs into it.
    const targets = Object.values(resourcesOf(template, 'AWS::S3::Bucket')).map((b) =>
      nagString(
        (b.Properties as { LoggingConfiguration?: { DestinationBucketName?: unknown } }).LoggingConfiguration
          ?.DestinationBucketName ?? '',
      ),
    );
    if (!targets.some((t) => t.startsWith('<'))) problems.push(`${id}: no bucket logs into another`);
  } else if (rule === 'APIG4' || rule === 'COG4') {
    // "each authenticates with an API key … /health is deliberately open": every method but /health needs a key.
    const methods = Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'))
      .map((m) => m.Properties as { HttpMethod: string; ApiKeyRequired?: boolean })
      .filter((m) => m.HttpMethod !== 'OPTIONS');
    const open = methods.filter((m) => !m.ApiKeyRequired).length;
    const keyless = ROUTES.filter((r) => !r.apiKeyRequired).map((r) => `${r.method} ${r.path}`);
    if (/API key/.test(reason) && open !== keyless.length) problems.push(`${id}: ${open} methods take no key`);
    if (/\/health/.test(reason) && !apiMethods(template).includes('GET /health')) problems.push(`${id}: no /health`);
  } else if (rule === 'SQS3') {
    // "the dead-letter queue of the ingest function": some function sends its failures to a queue.
    const deadLetterTargets = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map((f) =>
      nagString((f.Properties as { DeadLetterConfig?: { TargetArn?: unknown } }).DeadLetterConfig?.TargetArn ?? ''),
    );
    if (!deadLetterTargets.some((t) => t.startsWith('<'))) problems.push(`${id}: no function has a dead-letter queue`);
  } else {
    problems.push(`${id}: no check for this acknowledgement's rule; add one`);
  }
  return problems;
};

describe('cdk-nag acknowledgements say what is true', () => {
  it.each(STAGE_NAMES)(
    '%s: every reason holds for the template',
    (stage) => {
      const acks = acknowledgementsOf(stage);

      expect(acks.length).toBeGreaterThan(5);
      expect(acks.flatMap(({ id, reason }) => check(stage, id, reason))).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it('catches a false reason (the check is live)', () => {
    const problems = [
      check('dev', 'AwsSolutions-IAM5[Resource::*]', 'read-only access to xray:PutTraceSegments'),
      check('dev', 'AwsSolutions-IAM5[Action::s3:List*]', 'the list CDK grants'),
      check('dev', 'AwsSolutions-IAM5[Resource::*]', 'xray:PutTraceSegments, and s3:DeleteObject which is conditioned'),
    ];

    expect(problems[0]).toEqual([expect.stringMatching(/says read-only, grants .*xray:PutTraceSegments/)]);
    expect(problems[1]).toEqual([expect.stringMatching(/stale/)]);
    expect(problems[2]).toEqual(expect.arrayContaining([expect.stringMatching(/names s3:DeleteObject/)]));
  });
});

/** The IAM action each AWS SDK command the code may send needs. */
const ACTION_OF_COMMAND: Record<string, string> = {
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  GetCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  DescribeTableCommand: 'dynamodb:DescribeTable',
  CreateTableCommand: 'dynamodb:CreateTable',
  UpdateTimeToLiveCommand: 'dynamodb:UpdateTimeToLive',
  GetObjectCommand: 's3:GetObject',
  HeadObjectCommand: 's3:GetObject',
  ListObjectsV2Command: 's3:ListBucket',
  PutObjectCommand: 's3:PutObject',
  HeadBucketCommand: 's3:ListBucket',
  // API Gateway's key listing (layers/http/key-source.ts): only named here, it is no S3/DynamoDB action.
  GetApiKeysCommand: 'apigateway:GET',
  GetUsagePlansCommand: 'apigateway:GET',
  GetUsagePlanKeysCommand: 'apigateway:GET',
};

/** lib-storage's multipart upload (`new Upload(`): its parts are s3:PutObject, a failed one is aborted. */
const UPLOAD_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'];
/** What a DynamoDB stream event source mapping reads on the function's behalf (CDK grants it). */
const STREAM_ACTIONS = [
  'dynamodb:ListStreams',
  'dynamodb:DescribeStream',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
];

/** Every AWS SDK command constructed or paginated (`paginateScan` sends ScanCommand) anywhere in the functions' code (layers/ and functions/). */
const calledActions = (): Set<string> => {
  const found = new Set<string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith('.ts')) {
        const text = readFileSync(abs, 'utf8');
        if (/new Upload\(/.test(text)) for (const a of UPLOAD_ACTIONS) found.add(a);
        if (/DynamoDBStreamEvent/.test(text)) for (const a of STREAM_ACTIONS) found.add(a);
        for (const m of text.matchAll(/new (\w+Command)\(|\bpaginate(\w+)\(/g)) {
          const command = m[1] ?? `${m[2]}Command`;
          const action = ACTION_OF_COMMAND[command];
          if (!action) throw new Error(`${abs}: ${command} has no IAM action in ACTION_OF_COMMAND`);
          found.add(action);
        }
      }
    }
  };
  // model-packaging: the import function publishes with the CLI's code.
  for (const dir of ['layers', 'functions', 'model-packaging']) walk(path.join(REPO_ROOT, dir));
  return found;
};

describe('least privilege: IAM grants only what the code calls', () => {
  it.each(STAGE_NAMES)(
    '%s: every S3 and DynamoDB action granted is one the code sends',
    (stage) => {
      const called = calledActions();
      const granted = new Set(
        statementsOf(stage)
          .flatMap((s) => list(s.Action))
          .filter((a) => /^(s3|dynamodb):/.test(a)),
      );

      expect([...granted].filter((a) => !called.has(a))).toEqual([]);
      expect(granted.size).toBeGreaterThan(3);
    },
    SYNTH_TIMEOUT_MS,
  );

  it.each(STAGE_NAMES)(
    '%s: no bucket-wide reads, no Scan/DeleteItem/PutItem but the key sync’s on the key mirror and the ingester’s on the model state, UpdateItem on the usage counters and (ingester) analytics counters only, the result cache for predict and the ingester only',
    (stage) => {
      const { template } = synthStage(stage);
      // The key sync diffs the key mirror (Scan, PutItem, DeleteItem): on that table alone, in its policy alone.
      const keysTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) =>
        id.startsWith('KeySync'),
      );
      const onKeys = (s: Statement) => list(s.Resource).every((r) => JSON.stringify(r).includes(`"${keysTable}"`));
      // The Hub import jobs: the routes that take Hub ids queue them (PutItem), the import function moves them on (UpdateItem).
      const importsTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) =>
        id.includes('Imports'),
      );
      const onImports = (s: Statement) => JSON.stringify(s.Resource).includes(`"${importsTable}"`);
      // The models' loaded-state: the functions print their changes, the ingester puts them (PutItem).
      const modelStateTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) =>
        id.includes('ModelState'),
      );
      const onModelState = (s: Statement) => JSON.stringify(s.Resource).includes(`"${modelStateTable}"`);
      const writesOutside = (skip: (s: Statement) => boolean) =>
        Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([id, p]) =>
          (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement.filter(
            (s) =>
              !skip(s) &&
              list(s.Action).some((a) => ['dynamodb:Scan', 'dynamodb:PutItem', 'dynamodb:DeleteItem'].includes(a)),
          ).map((s) => ({ id, s })),
        );
      const syncWrites = writesOutside((s) => onImports(s) || onModelState(s));
      expect(syncWrites.map(({ id }) => id)).toEqual([expect.stringMatching(/^KeySync/)]);
      expect(syncWrites.every(({ s }) => onKeys(s))).toBe(true);
      const stateWrites = writesOutside((s) => !onModelState(s));
      expect(stateWrites.map(({ id, s }) => [id, list(s.Action)])).toEqual([
        [expect.stringMatching(/^Ingest/), ['dynamodb:PutItem']],
      ]);
      const usageTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) => id.includes('Usage'));
      const onUsage = (s: Statement) => JSON.stringify(s.Resource).includes(`"${usageTable}"`);
      const importGrants = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([id, p]) =>
        (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement.filter(onImports)
          .filter(
            (s) =>
              !list(s.Action).some((a) => a.startsWith('dynamodb:') && /Stream|GetRecords|GetShardIterator/.test(a)),
          )
          .map((s) => `${id.replace(/[0-9A-F]{8}$/, '')}: ${list(s.Action).sort().join(',')}`),
      );
      expect(importGrants.sort()).toEqual([
        'FncompletionsFunctionServiceRoleDefaultPolicy: dynamodb:GetItem,dynamodb:PutItem',
        'FnpredictFunctionServiceRoleDefaultPolicy: dynamodb:GetItem,dynamodb:PutItem',
        'FntranslateFunctionServiceRoleDefaultPolicy: dynamodb:GetItem,dynamodb:PutItem',
        'HubImportFunctionServiceRoleDefaultPolicy: dynamodb:GetItem,dynamodb:UpdateItem',
      ]);
      // The usage counters' conditional ADD is an UpdateItem, granted on that table alone.
      expect(
        statementsOf(stage)
          .filter(onUsage)
          .flatMap((s) => list(s.Action))
          .every((a) => a === 'dynamodb:UpdateItem'),
      ).toBe(true);
      // The analytics counters' ADD: UpdateItem on the prediction table, in the ingester's
      // policy only, in a statement of its own (no other action, no other resource).
      const predictionsTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) =>
        id.includes('Predictions'),
      );
      const counterStatements = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).flatMap(([id, p]) =>
        (p.Properties as { PolicyDocument: { Statement: Statement[] } }).PolicyDocument.Statement.filter(
          (s) => list(s.Action).includes('dynamodb:UpdateItem') && !onUsage(s) && !onImports(s),
        ).map((s) => ({ id, s })),
      );
      expect(counterStatements.map(({ id }) => id)).toEqual([expect.stringMatching(/^Ingest/)]);
      const isCounters = (s: Statement) =>
        JSON.stringify(list(s.Action)) === '["dynamodb:UpdateItem"]' &&
        list(s.Resource).every((r) => JSON.stringify(r).includes(`"${predictionsTable}"`));
      expect(counterStatements.every(({ s }) => isCounters(s))).toBe(true);
      const actions = statementsOf(stage)
        .filter(
          (s) =>
            !onUsage(s) &&
            !isCounters(s) &&
            !onImports(s) &&
            !syncWrites.some((w) => JSON.stringify(w.s) === JSON.stringify(s)) &&
            !stateWrites.some((w) => JSON.stringify(w.s) === JSON.stringify(s)),
        )
        .flatMap((s) => list(s.Action));
      const cacheTable = Object.keys(resourcesOf(template, 'AWS::DynamoDB::Table')).find((id) =>
        id.includes('ResultCache'),
      );
      const policiesOnCache = Object.entries(resourcesOf(template, 'AWS::IAM::Policy')).filter(([, p]) =>
        JSON.stringify(p.Properties).includes(`"${cacheTable}"`),
      );

      for (const broad of [
        's3:GetBucket*',
        's3:List*',
        's3:GetObject*',
        'dynamodb:Scan',
        'dynamodb:DeleteItem',
        'dynamodb:UpdateItem',
        'dynamodb:PutItem',
      ]) {
        expect(actions, broad).not.toContain(broad);
      }
      expect(actions).toContain('s3:ListBucket');
      expect(policiesOnCache.map(([id]) => id).sort()).toEqual([
        expect.stringMatching(/^Fnpredict/),
        expect.stringMatching(/^Ingest/),
      ]);
      const listings = statementsOf(stage).filter((s) => list(s.Action).includes('s3:ListBucket'));
      expect(listings.length).toBeGreaterThan(0);
      for (const s of listings) expect(JSON.stringify(s.Condition)).toContain('"s3:prefix":["models/*"]');
    },
    SYNTH_TIMEOUT_MS,
  );
});
