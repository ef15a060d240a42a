import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { availabilityZonesContext, type ContextKey, stageFromContext } from '../lib/context.ts';
import { InferenceStack } from '../lib/stack.ts';

/**
 * `cdk synth|deploy -c stage=dev|staging|prod [-c account=... -c region=...]` (prod needs
 * both; see `stageFromContext` for the other keys). Without account/region a stage is
 * environment-agnostic, so synth needs no credentials and makes no lookups (a pinned
 * stage names its zones, so it makes none either). cdk-nag's AWS Solutions pack runs on
 * every synth: an unacknowledged finding stops it.
 */
const app = new App();
const { config, env } = stageFromContext((key: ContextKey) => app.node.tryGetContext(key) ?? undefined);
const zones = availabilityZonesContext(config);
if (zones) app.node.setContext(...zones);

const stack = new InferenceStack(app, `HfServe-${config.stage}`, {
  config,
  env,
  description: `${config.serviceName} serverless inference (${config.stage})`,
});
Tags.of(stack).add('service', config.serviceName);
Tags.of(stack).add('stage', config.stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
