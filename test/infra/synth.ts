import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { RouteDef } from '#functions/routes.ts';
import { availabilityZonesContext, type ContextKey, stageFromContext } from '../../infra/lib/context.ts';
import { InferenceStack } from '../../infra/lib/stack.ts';
import type { StageName } from '../../infra/lib/stages.ts';

/** Synthesizing a stage takes a few seconds: each test file does it once per stage. */
export const SYNTH_TIMEOUT_MS = 60_000;

export interface Synthesized {
  readonly stack: InferenceStack;
  readonly template: Template;
}

const cache = new Map<string, Synthesized>();

/**
 * cdk.json's `context` (the feature flags, `@aws-cdk/core:target-partitions`): what `cdk synth`
 * gives the app, so the templates tested are the ones deployed. Read from the repository.
 */
export const CDK_JSON_CONTEXT: Readonly<Record<string, unknown>> = (
  JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;

/** The context each stage is synthesized with (prod must be pinned to an account and region). */
export const SYNTH_CONTEXT: Readonly<Record<StageName, Readonly<Partial<Record<ContextKey, string>>>>> = {
  dev: {},
  staging: {},
  prod: { account: '123456789012', region: 'us-east-1' },
};

/**
 * The stack of one stage, synthesized once per test file (and per route table).
 * No Docker and no AWS account are needed: image assets are only hashed here.
 */
export const synthStage = (stage: StageName, routes?: readonly RouteDef[]): Synthesized => {
  const key = `${stage}:${routes ? JSON.stringify(routes) : 'ROUTES'}`;
  let found = cache.get(key);
  if (!found) {
    const context = { stage, ...SYNTH_CONTEXT[stage] };
    const { config, env } = stageFromContext((k) => context[k as keyof typeof context]);
    const zones = availabilityZonesContext(config);
    const app = new App({
      context: { ...CDK_JSON_CONTEXT, ...context, ...(zones ? { [zones[0]]: zones[1] } : {}) },
    });
    const stack = new InferenceStack(app, `HfServe-${stage}`, { config, env, routes });
    found = { stack, template: Template.fromStack(stack) };
    cache.set(key, found);
  }
  return found;
};

type CfnResource = { Type: string; Properties?: Record<string, unknown>; Metadata?: unknown; DependsOn?: string[] };

/** Every resource of one CloudFormation type, by logical id. */
export const resourcesOf = (template: Template, type: string): Record<string, CfnResource> =>
  template.findResources(type) as Record<string, CfnResource>;

/**
 * The API's methods as `METHOD /path`, rebuilt from the template's resources and
 * their parents (CORS preflight OPTIONS methods left out).
 */
export const apiMethods = (template: Template): string[] => {
  const resources = resourcesOf(template, 'AWS::ApiGateway::Resource');
  const pathOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    const r = id ? resources[id] : undefined;
    if (!r) return ''; // the root resource (Fn::GetAtt RootResourceId)
    const p = r.Properties as { ParentId: unknown; PathPart: string };
    return `${pathOf(p.ParentId)}/${p.PathPart}`;
  };
  return Object.values(resourcesOf(template, 'AWS::ApiGateway::Method'))
    .map((m) => m.Properties as { HttpMethod: string; ResourceId: unknown })
    .filter((p) => p.HttpMethod !== 'OPTIONS')
    .map((p) => `${p.HttpMethod} ${pathOf(p.ResourceId) || '/'}`)
    .sort();
};

/** Stands in for a value CloudFormation resolves at deploy time (a table or bucket name). */
export const DEPLOY_TIME_VALUE = 'resolved-at-deploy';

/**
 * The environment one image function gets in a stage: its template variables (values
 * resolved only at deploy become `DEPLOY_TIME_VALUE`) and those Lambda itself sets.
 */
export const imageFunctionEnv = (stage: StageName, fn: string): Record<string, string> => {
  const command = `functions/${fn}/handler.handler`;
  const found = Object.values(resourcesOf(synthStage(stage).template, 'AWS::Lambda::Function'))
    .map(
      (f) =>
        f.Properties as {
          ImageConfig?: { Command: string[] };
          MemorySize: number;
          Environment: { Variables: Record<string, unknown> };
        },
    )
    .find((p) => p.ImageConfig?.Command[0] === command);
  if (!found) throw new Error(`no image function runs ${command} in stage ${stage}`);
  const vars = Object.entries(found.Environment.Variables).map(([k, v]) => [
    k,
    typeof v === 'string' ? v : DEPLOY_TIME_VALUE,
  ]);
  return {
    ...Object.fromEntries(vars),
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: `HfServe-${stage}-${fn}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(found.MemorySize),
    _HANDLER: command,
  };
};
