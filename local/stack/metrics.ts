/**
 * `GET /_local/metrics`: what CloudWatch would make of the EMF lines the in-process functions log (shared/metrics.ts).
 * Every line a function's logger writes through `metric()` also reaches this recorder, which reads it as CloudWatch
 * reads EMF — namespace, dimension sets, metric names and units from `_aws.CloudWatchMetrics`, values and dimension
 * values from the top-level members — and keeps totals per namespace, metric and dimension set since the stack
 * started. Unlike CloudWatch there are no periods and no percentiles: sum, sample count, minimum, maximum and the
 * last value, in memory (a restart starts from zero).
 */
import type { LogFields, Logger } from '../../shared/log.js';

export interface MetricTotal {
  readonly namespace: string;
  readonly metric: string;
  readonly unit: string | undefined;
  readonly dimensions: Readonly<Record<string, string>>;
  sum: number;
  sampleCount: number;
  min: number;
  max: number;
  last: number;
  /** `_aws.Timestamp` of the latest value, ISO 8601. */
  lastAt: string;
}

export interface MetricsSnapshot {
  readonly since: string;
  readonly metrics: readonly MetricTotal[];
  /** Lines with an `_aws` member that are not valid EMF (CloudWatch would not extract them either). */
  readonly invalidLines: number;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

interface Directive {
  readonly namespace: string;
  readonly dimensionSets: readonly (readonly string[])[];
  readonly metrics: readonly { readonly name: string; readonly unit: string | undefined }[];
}

/** The directives of an EMF document, or null when it is not one CloudWatch would accept. */
function directivesOf(document: LogFields): Directive[] | null {
  const aws = document._aws;
  if (!isRecord(aws) || typeof aws.Timestamp !== 'number' || !Array.isArray(aws.CloudWatchMetrics)) return null;
  const directives: Directive[] = [];
  for (const directive of aws.CloudWatchMetrics as unknown[]) {
    if (!isRecord(directive) || typeof directive.Namespace !== 'string' || !Array.isArray(directive.Dimensions) || !Array.isArray(directive.Metrics)) return null;
    const dimensionSets = (directive.Dimensions as unknown[]).map((set) => (Array.isArray(set) && set.every((name) => typeof name === 'string') ? (set as string[]) : null));
    if (dimensionSets.some((set) => set === null)) return null;
    const metrics = (directive.Metrics as unknown[]).map((metric) =>
      isRecord(metric) && typeof metric.Name === 'string' ? { name: metric.Name, unit: typeof metric.Unit === 'string' ? metric.Unit : undefined } : null,
    );
    if (metrics.some((metric) => metric === null)) return null;
    directives.push({ namespace: directive.Namespace, dimensionSets: dimensionSets as string[][], metrics: metrics as Directive['metrics'] });
  }
  return directives;
}

export class MetricsRecorder {
  readonly #totals = new Map<string, MetricTotal>();
  readonly #since = new Date().toISOString();
  #invalid = 0;

  /** Adds the values of one EMF document. */
  record(document: LogFields): void {
    const directives = directivesOf(document);
    if (directives === null) {
      this.#invalid += 1;
      return;
    }
    const at = new Date((document._aws as { Timestamp: number }).Timestamp).toISOString();
    for (const directive of directives) {
      for (const set of directive.dimensionSets) {
        // A dimension whose value is not a string top-level member makes CloudWatch skip the whole set.
        const values = set.map((name) => document[name]);
        if (!values.every((value): value is string => typeof value === 'string')) continue;
        const dimensions = Object.fromEntries(set.map((name, index) => [name, values[index] as string]));
        for (const metric of directive.metrics) {
          const raw = document[metric.name];
          // A member may hold one value or an array of them (EMF allows up to 100 values per metric).
          const points = (Array.isArray(raw) ? raw : [raw]).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
          for (const value of points) this.#add(directive.namespace, metric, dimensions, value, at);
        }
      }
    }
  }

  #add(namespace: string, metric: Directive['metrics'][number], dimensions: Record<string, string>, value: number, at: string): void {
    const key = JSON.stringify([namespace, metric.name, Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b))]);
    const total = this.#totals.get(key);
    if (total === undefined) {
      this.#totals.set(key, { namespace, metric: metric.name, unit: metric.unit, dimensions, sum: value, sampleCount: 1, min: value, max: value, last: value, lastAt: at });
      return;
    }
    total.sum += value;
    total.sampleCount += 1;
    total.min = Math.min(total.min, value);
    total.max = Math.max(total.max, value);
    total.last = value;
    total.lastAt = at;
  }

  /** The totals, sorted by namespace, metric and dimensions (a stable order for people and diffs). */
  snapshot(): MetricsSnapshot {
    const metrics = [...this.#totals.values()]
      .map((total) => ({ ...total, dimensions: { ...total.dimensions } }))
      .sort((a, b) => `${a.namespace}/${a.metric}/${JSON.stringify(a.dimensions)}`.localeCompare(`${b.namespace}/${b.metric}/${JSON.stringify(b.dimensions)}`));
    return { since: this.#since, metrics, invalidLines: this.#invalid };
  }
}

/** The same logger, except that every `metric()` document is also given to the recorder (children included). */
export function recordingLogger(logger: Logger, recorder: MetricsRecorder): Logger {
  return {
    debug: (event, fields) => logger.debug(event, fields),
    info: (event, fields) => logger.info(event, fields),
    warn: (event, fields) => logger.warn(event, fields),
    error: (event, fields) => logger.error(event, fields),
    metric: (document) => {
      logger.metric(document);
      recorder.record(document);
    },
    child: (keys) => recordingLogger(logger.child(keys), recorder),
  };
}
