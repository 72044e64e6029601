/**
 * Synthesises the reelay app the way `npx cdk synth` does: the context of cdk.json (feature flags, defaults) plus
 * the overrides a test gives, through the same buildApp() that infra/app.ts calls.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { repositoryRoot } from '../../../infra/manifest.js';
import { buildApp } from '../../../infra/reelay-app.js';
import type { ReelayStack } from '../../../infra/stack.js';

export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DependsOn?: string | string[];
}

export interface TemplateJson {
  readonly Resources: Record<string, CfnResourceJson>;
  readonly Outputs?: Record<string, { Value: unknown }>;
  readonly Mappings?: Record<string, unknown>;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: ReelayStack;
  readonly template: Template;
  readonly json: TemplateJson;
}

export interface SynthOptions {
  /** Run esbuild for every function (slow); otherwise assets are left unbundled. @default false */
  readonly bundle?: boolean;
  /** Register cdk-nag as infra/app.ts does, so synthesis fails on findings. @default false */
  readonly nag?: boolean;
  readonly outdir?: string;
}

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(resolve(repositoryRoot, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return cdkJson.context ?? {};
}

export function synthesize(context: Record<string, unknown> = {}, options: SynthOptions = {}): Synthesized {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: {
      ...cdkJsonContext(),
      // Template metadata carries each resource's construct path, to map findings back to constructs.
      'aws:cdk:enable-path-metadata': true,
      // …and each function's asset directory in cdk.out, for the bundle smoke test.
      'aws:cdk:enable-asset-metadata': true,
      'aws:cdk:bundling-stacks': options.bundle ? ['**'] : [],
      ...context,
    },
  });
  const { stack } = buildApp(app, { nag: options.nag ?? false });
  app.synth();
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as TemplateJson };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(json: TemplateJson, type: string): Array<[string, CfnResourceJson]> {
  return Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
}

/** The construct path CDK recorded for a resource ("Reelay-dev/Functions/ingest/Function/Resource"). */
export function constructPathOf(resource: CfnResourceJson): string {
  const path = resource.Metadata?.['aws:cdk:path'];
  if (typeof path !== 'string') throw new Error('resource has no aws:cdk:path metadata');
  return path;
}

/** The logical id of the Lambda function created for a manifest entry. */
export function functionLogicalId(synth: Synthesized, name: string): string {
  const fn = synth.stack.functions.get(name);
  return (synth.stack as Stack).getLogicalId(fn.node.defaultChild as Parameters<Stack['getLogicalId']>[0]);
}
