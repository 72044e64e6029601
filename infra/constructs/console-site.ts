/**
 * The web console (web/) as a static site: a private bucket that only CloudFront can read (origin access control),
 * served over HTTPS with security headers, and filled at deploy time with the console built at synth time by
 * web/build.ts plus a `config.json` whose API URL and sign-in settings CloudFormation substitutes on deployment.
 *
 * Two phases, because the site's URL is needed before the things it configures exist: the constructor creates the
 * bucket and distribution (so the user pool client, the API and the upload bucket can name the console's origin),
 * and `publish()` deploys the files once the API URL and the app client are known.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Aws, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack, Stage, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { repositoryRoot } from '../manifest.js';
import { accessLogsBucket } from './access-logs-bucket.js';

/** What `config.json` holds in AWS (docs/CONSOLE.md): the API's origin and the Hosted UI's. */
export interface ConsoleRuntimeConfig {
  readonly apiUrl: string;
  /** `scopes`: what the console asks the IdP for (web/src/config.ts; default openid email profile). */
  readonly auth: { readonly kind: 'cognito'; readonly domain: string; readonly clientId: string; readonly scopes?: readonly string[] };
  /** Whose members see the Admin view (the functions' ADMIN_GROUP). */
  readonly adminGroup: string;
}

export interface ConsoleSiteProps {
  /** The origin the browser trades sign-in codes with (`{origin}/oauth2/token`): the Hosted UI's base URL. */
  readonly signInOrigin: string;
  /** CloudFront standard logs and the site bucket's server access logs, into one log bucket. */
  readonly accessLogs: boolean;
  /** For the log bucket; the site bucket itself only holds build output and always goes with the stack. */
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Hosts Mux Player talks to: HLS manifests, segments and text tracks (stream.mux.com and its CDN hosts under
 * mux.com), thumbnails and storyboards (image.mux.com), and Mux Data's playback beacons (litix.io).
 */
export const muxPlayerHosts = {
  connect: ['https://*.mux.com', 'https://*.litix.io'],
  media: ['https://*.mux.com'],
  image: ['https://image.mux.com'],
} as const;

/**
 * The console's Content-Security-Policy. The API and the upload bucket are allowed by this region's host patterns
 * rather than their exact origins: both name the console's CloudFront origin in their CORS rules (and the API's
 * authorizer names the app client, whose callback is the CloudFront URL), so a policy naming them back would be a
 * dependency cycle CloudFormation cannot deploy. `script-src 'self'` is what stops injected script; `connect-src`
 * is the second layer. Styles allow 'unsafe-inline' because Mux Player's web components style their shadow roots.
 */
export function consoleContentSecurityPolicy(signInOrigin: string, region: string = Aws.REGION): string {
  const directives: Record<string, readonly string[]> = {
    'default-src': ["'self'"],
    'script-src': ["'self'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:', ...muxPlayerHosts.image],
    'media-src': ["'self'", 'blob:', ...muxPlayerHosts.media],
    'connect-src': [
      "'self'",
      `https://*.execute-api.${region}.amazonaws.com`,
      `https://*.s3.${region}.amazonaws.com`,
      signInOrigin,
      ...muxPlayerHosts.connect,
    ],
    'worker-src': ["'self'", 'blob:'],
    'font-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');
}

/** One HSTS year is the minimum the preload list asks for; two is its recommendation. */
const hstsMaxAge = Duration.days(730);

export class ConsoleSite extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly headers: cloudfront.ResponseHeadersPolicy;
  readonly logsBucket: s3.Bucket | undefined;
  private readonly logRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    this.logRetention = props.logRetention;
    this.logsBucket = props.accessLogs ? accessLogsBucket(this, 'Logs', { removalPolicy: props.removalPolicy, cloudFrontLogs: true }) : undefined;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      ...(this.logsBucket ? { serverAccessLogsBucket: this.logsBucket, serverAccessLogsPrefix: 'console-bucket/' } : {}),
      // Build output that every deploy writes again: nothing in it outlives the stack, in any stage.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    this.headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'reelay console: HSTS, CSP, no framing, no sniffing, strict referrer',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: hstsMaxAge, includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        // Mux's playback restrictions check the page's origin, so cross-origin requests keep it (and only it).
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        contentSecurityPolicy: { contentSecurityPolicy: consoleContentSecurityPolicy(props.signInOrigin), override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()', override: true },
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
        ],
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `reelay web console (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      // North America and Europe edges: the cheapest class; other viewers are served from the nearest of those.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        // Honours the objects' Cache-Control (see publish): fixed names revalidate, hashed chunks live for a year.
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.headers,
        compress: true,
      },
      ...(this.logsBucket ? { enableLogging: true, logBucket: this.logsBucket, logFilePrefix: 'cloudfront/' } : {}),
    });
    this.acknowledgeFindings(props.accessLogs);
  }

  /** `https://d….cloudfront.net`, the console's origin (for CORS). */
  get origin(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }

  /** The console's URL as the browser shows it, and so its OAuth callback and sign-out URL. */
  get url(): string {
    return `${this.origin}/`;
  }

  /**
   * Deploys the console: built now (synth time) by web/build.ts, uploaded by CloudFormation with `config.json`
   * written from `config`, whose tokens (API URL, client id, Hosted UI domain) are substituted at deploy time.
   */
  publish(config: ConsoleRuntimeConfig): void {
    const assembly = Stage.of(this);
    if (!assembly) throw new Error('the console site must be inside an App (its build goes into the cloud assembly)');
    const built = buildConsoleForDeployment(join(assembly.outdir, 'console-build'));
    // Every deployment shares one handler Lambda (a singleton); its logs get a retention instead of "never expire".
    const handlerLogs = new logs.LogGroup(this, 'DeploymentLogs', { retention: this.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const chunksDir = join(built, 'chunks');
    const chunks = existsSync(chunksDir)
      ? new s3deploy.BucketDeployment(this, 'DeployChunks', {
          sources: [s3deploy.Source.asset(chunksDir)],
          destinationBucket: this.bucket,
          destinationKeyPrefix: 'chunks/',
          // Names carry a content hash: a chunk never changes, and tabs still running the previous app.js can load
          // theirs, so old chunks stay.
          prune: false,
          cacheControl: [s3deploy.CacheControl.setPublic(), s3deploy.CacheControl.maxAge(Duration.days(365)), s3deploy.CacheControl.immutable()],
          logGroup: handlerLogs,
        })
      : undefined;
    const shell = new s3deploy.BucketDeployment(this, 'Deploy', {
      sources: [s3deploy.Source.asset(built, { exclude: ['chunks', 'config.json'] }), s3deploy.Source.jsonData('config.json', config)],
      destinationBucket: this.bucket,
      // Pruning removes files of earlier builds, but not the chunks deployed beside this one.
      exclude: ['chunks/*'],
      // Fixed names (index.html, app.js, config.json): browsers and CloudFront revalidate them, so a deploy is live at
      // once without an invalidation (whose IAM action cannot be limited to one distribution by BucketDeployment).
      cacheControl: [s3deploy.CacheControl.noCache()],
      logGroup: handlerLogs,
    });
    // A new app.js must not be served before the chunks it imports.
    if (chunks) shell.node.addDependency(chunks);
    this.acknowledgeDeploymentRole(shell);
  }

  private acknowledgeFindings(accessLogs: boolean): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The console is a sign-in page and static files for any operator, wherever they are; the data behind it is protected by Cognito and the API, not by geography.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'Static, public build output only (no server-side logic, no data); a WAF web ACL costs a monthly fee per ACL and rule at idle. The API throttles on its own; attach a web ACL here if policy requires one.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: "The distribution uses CloudFront's default *.cloudfront.net certificate, whose TLS policy CloudFront fixes; a minimum of TLSv1.2 needs a custom domain and an ACM certificate in us-east-1.",
      },
    );
    if (!accessLogs) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR3',
        reason: 'Access logs were turned off with -c bucketAccessLogs=false for this deployment; the API keeps its own access logs.',
      });
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason: 'Access logs were turned off with -c bucketAccessLogs=false; only CloudFront (origin access control) and the deployment touch this bucket.',
      });
    }
  }

  /**
   * The deployment handler's role as aws-cdk-lib writes it: read on the CDK assets bucket (where the built console
   * is staged) and read/write on this site bucket. The wildcards are the grant methods' action families and the
   * object ARNs of those two buckets, nothing else.
   */
  private acknowledgeDeploymentRole(deployment: s3deploy.BucketDeployment): void {
    const stack = Stack.of(this);
    const siteObjects = `<${stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*`;
    const findings = [
      ...['s3:GetBucket*', 's3:GetObject*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'].map((action) => `Action::${action}`),
      `Resource::${siteObjects}`,
      `Resource::arn:<AWS::Partition>:s3:::${assetsBucketName(stack)}/*`,
    ];
    for (const finding of findings) {
      Validations.of(deployment.handlerRole).acknowledge({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason:
          "aws-cdk-lib's BucketDeployment handler copies the staged console from the CDK assets bucket into the site bucket and prunes old files; its grants cover those two buckets only.",
      });
    }
  }
}

/** The bootstrap assets bucket's name as cdk-nag prints it (`cdk-<qualifier>-assets-<AWS::AccountId>-<AWS::Region>`). */
function assetsBucketName(stack: Stack): string {
  const qualifier = stack.synthesizer.bootstrapQualifier ?? DefaultStackSynthesizer.DEFAULT_QUALIFIER;
  return DefaultStackSynthesizer.DEFAULT_FILE_ASSETS_BUCKET_NAME.replace('${Qualifier}', qualifier).replace(/\$\{([^}]+)\}/g, '<$1>');
}

/**
 * Runs web/build.ts in a child process (the app is synthesised synchronously; the build is async) into `outDir`,
 * which sits inside the cloud assembly, so each synthesis has its own and `cdk.out` holds the last one.
 */
export function buildConsoleForDeployment(outDir: string): string {
  try {
    execFileSync(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'web', 'build.ts'), '--out', outDir], {
      cwd: repositoryRoot,
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`building the web console (web/build.ts) for the static site failed: ${stderr.trim() || (error as Error).message}`);
  }
  for (const file of ['index.html', 'app.js', 'styles.css']) {
    if (!existsSync(join(outDir, file))) throw new Error(`the web console build wrote no ${file} into ${outDir}`);
  }
  return outDir;
}
