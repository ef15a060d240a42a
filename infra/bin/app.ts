import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { InferenceStack } from '../lib/stack.ts';
import { stageConfig } from '../lib/stages.ts';

/**
 * `cdk synth|deploy -c stage=dev|staging|prod [-c account=... -c region=...]`.
 * Without account/region the stack is environment-agnostic, so synth needs no
 * credentials and makes no lookups. cdk-nag's AWS Solutions pack runs on every synth:
 * an unacknowledged finding stops it.
 */
const app = new App();
const context = (key: string): string | undefined => app.node.tryGetContext(key) ?? undefined;
const config = stageConfig(context('stage'));
const account = context('account') ?? config.env?.account;
const region = context('region') ?? config.env?.region;

const stack = new InferenceStack(app, `HfServe-${config.stage}`, {
  config,
  env: account || region ? { account, region } : undefined,
  description: `${config.serviceName} serverless inference (${config.stage})`,
});
Tags.of(stack).add('service', config.serviceName);
Tags.of(stack).add('stage', config.stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
