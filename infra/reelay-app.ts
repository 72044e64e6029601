/**
 * Builds the reelay CDK app (used by infra/app.ts and by the tests). The stack is environment-agnostic on purpose
 * (it deploys to the CLI's account and region): an account-bound stack would look up availability zones, and
 * `cdk synth` must work offline on a fresh clone.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readConfig } from './config.js';
import { loadManifest } from './manifest.js';
import { ReelayStack, stackNameFor } from './stack.js';

export interface BuildAppOptions {
  /** Register cdk-nag's AwsSolutionsChecks so that any unacknowledged finding fails synthesis. @default true */
  readonly nag?: boolean;
}

export function buildApp(app: App = new App(), options: BuildAppOptions = {}): { app: App; stack: ReelayStack } {
  const config = readConfig(app.node);
  const stack = new ReelayStack(app, stackNameFor(config.stage), {
    config,
    manifest: loadManifest(),
    description: `reelay (${config.stage}): serverless video uploads with Mux and Aurora Serverless v2`,
  });
  // Every AwsSolutions finding must be fixed or acknowledged on its resource, or synthesis fails.
  if (options.nag ?? true) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
