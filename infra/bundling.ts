/**
 * How every Lambda is bundled: one ESM file per function, built by the local esbuild (no Docker), for Node 22.
 * Kept apart from the constructs so the bundle smoke test can check the settings it relies on.
 */
import { LogLevel, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/**
 * esbuild turns the CommonJS `require` calls inside some dependencies (parts of the AWS SDK among them) into a
 * runtime `require`, which does not exist in an ES module; this banner defines one.
 */
export const esmRequireBanner =
  "import { createRequire as __reelayCreateRequire } from 'node:module'; const require = __reelayCreateRequire(import.meta.url);";

/**
 * `pg-native` is an optional peer of `pg` that pg only `require`s when asked for its native binding, which reelay
 * never does. pg and PGlite are not marked external (esbuild, with one outfile and no code splitting, would hoist an
 * external import to the top of the ES module, failing every cold start): create-driver imports their drivers
 * through non-literal specifiers, which esbuild leaves unbundled, so no function bundle carries either.
 */
export const lambdaExternalModules = ['pg-native'] as const;

export const lambdaBundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  platform: 'node',
  // Prefer ESM builds of dependencies: better tree shaking, smaller bundles, faster cold starts.
  mainFields: ['module', 'main'],
  banner: esmRequireBanner,
  minify: true,
  // Minifying renames classes, and error classes name themselves after their class (`error.name`), which the logs
  // and the error mapper rely on; keep the names.
  keepNames: true,
  // No source maps: `--enable-source-maps` slows every cold start, and stack traces of typed errors already carry
  // their `code`; flip to `sourceMap: true` + NODE_OPTIONS when debugging a bundle.
  sourceMap: false,
  // Bundle our pinned @aws-sdk/* instead of the runtime's copy (NodejsFunction leaves `@aws-sdk/*` out by
  // default; https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_lambda_nodejs.BundlingOptions.html#bundleawssdk).
  // Tested and deployed code are then the same SDK version (the S3 checksum behaviour and Data API error shapes
  // reelay relies on changed across SDK releases), and esbuild tree-shakes the clients to what is used, which also
  // loads faster than the runtime's full copy.
  bundleAwsSDK: true,
  externalModules: [...lambdaExternalModules],
  forceDockerBundling: false,
  logLevel: LogLevel.WARNING,
};
