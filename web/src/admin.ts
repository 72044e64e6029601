/**
 * Operations for the `admin` group: health, the migration ledger with a button that applies what is pending, and the
 * diagnostics report (counts, stuck uploads and ingests, fallback rows, Mux errors, configuration).
 *
 * The answers are read defensively (a field an older API lacks shows as "—"), and each section keeps the complete
 * answer under "Full answer" for whatever the summary leaves out.
 */
import { ApiError, type Api, type JsonObject } from './api.js';
import { focusOn, formatDate, h, replaceChildren } from './dom.js';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Row = Record<string, unknown>;

function isRecord(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const record = (value: unknown): Row => (isRecord(value) ? value : {});
const rows = (value: unknown): Row[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : []);
const text = (value: unknown): string => (value === null || value === undefined || value === '' ? '—' : String(value));
const when = (value: unknown): string => (typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? formatDate(value) : text(value));
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;

function humanKey(key: string): string {
  return key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ').replace(/^./, (first) => first.toUpperCase());
}

/** Any JSON as nested definition lists; lists of scalars joined. For the "Full answer" disclosure. */
export function renderJson(value: Json | undefined): Node {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value !== 'object') return document.createTextNode(String(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, 'none');
    if (value.every((item) => typeof item !== 'object' || item === null)) return document.createTextNode(value.join(', '));
    return h('ol', { class: 'json-list' }, ...value.map((item) => h('li', {}, renderJson(item))));
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return h('span', { class: 'muted' }, 'none');
  return h('dl', { class: 'facts' }, ...entries.flatMap(([key, item]) => [h('dt', {}, humanKey(key)), h('dd', {}, renderJson(item))]));
}

function fullAnswer(answer: unknown): HTMLElement {
  return h('details', { class: 'full-answer' }, h('summary', {}, 'Full answer'), renderJson(answer as Json));
}

function facts(...pairs: Array<[string, Node | string]>): HTMLElement {
  return h('dl', { class: 'facts' }, ...pairs.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function table(caption: string, columns: ReadonlyArray<readonly [string, (row: Row) => string]>, items: readonly Row[]): HTMLElement {
  if (items.length === 0) return h('p', { class: 'muted' }, `${caption}: none.`);
  // A region that scrolls sideways on a narrow screen: focusable, so the keyboard can scroll it too.
  return h(
    'div',
    { class: 'table-scroll', role: 'region', tabindex: 0, 'aria-label': caption },
    h(
      'table',
      {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...columns.map(([label]) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, ...items.map((item) => h('tr', {}, ...columns.map(([, cell]) => h('td', {}, cell(item)))))),
    ),
  );
}

function muxColumnsSummary(report: unknown): Node {
  const { present, missing } = record(report);
  const lacking = strings(missing);
  if (lacking.length === 0) return document.createTextNode(`all ${strings(present).length} present`);
  return h('details', {}, h('summary', {}, `${lacking.length} missing`), h('p', { class: 'column-list' }, lacking.join(', ')));
}

/** A diagnostics section the schema cannot answer yet says why instead of showing zeros. */
function section(value: unknown, present: (available: Row) => Node[]): Node[] {
  const body = record(value);
  // The reason is a sentence of its own ("unavailable until migration 0002"): shown as it is, capitalised.
  if (body.available === false) return [h('p', { class: 'muted unavailable' }, `${text(body.reason).replace(/^./, (first) => first.toUpperCase())}.`)];
  return present(body);
}

function sampled(caption: string, value: unknown, columns: ReadonlyArray<readonly [string, (row: Row) => string]>): Node[] {
  const { count, sample } = record(value);
  const listed = rows(sample);
  const total = typeof count === 'number' ? count : listed.length;
  return [
    h('h5', {}, `${caption}: ${total}`),
    ...(total > 0 ? [table(`${caption}${listed.length < total ? ` (first ${listed.length})` : ''}`, columns, listed)] : []),
  ];
}

const videoColumn = ['Video', (row: Row) => text(row.id ?? row.videoId)] as const;
const statusColumn = ['Status', (row: Row) => text(row.status)] as const;

function describeError(error: unknown): string {
  return error instanceof ApiError ? `${error.describe()} (HTTP ${error.status})` : (error as Error).message;
}

function panel(id: string, title: string, ...controls: Node[]): { section: HTMLElement; body: HTMLElement } {
  const body = h('div', { class: 'admin-body', id: `${id}-body`, 'aria-live': 'polite', 'aria-busy': 'false' });
  const element = h('section', { class: 'panel', id, 'aria-labelledby': `${id}-heading` }, h('h3', { id: `${id}-heading` }, title), ...controls, body);
  return { section: element, body };
}

async function load(body: HTMLElement, fetcher: () => Promise<JsonObject>, present: (answer: JsonObject) => Node[]): Promise<JsonObject | undefined> {
  body.setAttribute('aria-busy', 'true');
  try {
    const answer = await fetcher();
    replaceChildren(body, ...present(answer));
    return answer;
  } catch (error) {
    replaceChildren(body, h('p', { class: 'error', role: 'alert' }, describeError(error)));
    return undefined;
  } finally {
    body.setAttribute('aria-busy', 'false');
  }
}

function presentHealth(answer: JsonObject): Node[] {
  const database = record(answer.database);
  const schema = record(answer.schema);
  const pending = strings(schema.pending);
  return [
    h('p', {}, h('span', { class: `badge health-${text(answer.status)}`, 'data-health': text(answer.status) }, text(answer.status))),
    facts(
      ['Database', database.connected === true ? `connected, ${text(database.latencyMs)} ms` : 'unreachable'],
      ['Schema', `version ${text(schema.version)} of ${text(schema.latestVersion)}`],
      ['Pending', pending.length === 0 ? 'none' : pending.join(', ')],
      ['Mux columns', schema.muxColumns ? muxColumnsSummary(schema.muxColumns) : '—'],
      ['Mux', record(answer.mux).configured === true ? 'configured' : 'not configured'],
    ),
    fullAnswer(answer),
  ];
}

function presentMigrations(status: JsonObject): Node[] {
  const pending = rows(status.pending);
  const problems = [
    ...rows(status.drift).map((drift) => `Migration ${text(drift.version)} (${text(drift.name)}) was edited after it was applied.`),
    ...strings(status.unknownApplied).map((version) => `Version ${version} is applied but unknown to this code (the database is newer).`),
    ...rows(status.invalidIndexes).map((index) => `Index ${text(index.name)} on ${text(index.table)} is invalid${index.building === true ? ' (still building)' : ''}.`),
  ];
  return [
    h(
      'p',
      { id: 'pending-count', 'data-pending': pending.length },
      `Schema version ${text(status.currentVersion)} of ${text(status.latestVersion)}: `,
      pending.length === 0 ? 'up to date.' : `${plural(pending.length, 'migration')} pending.`,
    ),
    ...problems.map((problem) => h('p', { class: 'error' }, problem)),
    table('Pending', [['Version', (row) => text(row.version)], ['Name', (row) => text(row.name)]], pending),
    table('Applied', [['Version', (row) => text(row.version)], ['Name', (row) => text(row.name)], ['Applied', (row) => when(row.appliedAt)], ['Took', (row) => `${text(row.durationMs)} ms`]], rows(status.applied)),
    facts(['Mux columns', status.muxColumns ? muxColumnsSummary(status.muxColumns) : '—']),
    fullAnswer(status),
  ];
}

function presentApplied(result: JsonObject): Node[] {
  const ran = rows(result.ran);
  const repaired = strings(result.repaired);
  return [
    h('p', { class: 'success', 'data-applied': ran.length }, ran.length === 0 ? 'Nothing was pending: no migration ran.' : `Ran ${plural(ran.length, 'migration')} in ${text(result.durationMs)} ms.`),
    table('Ran', [['Version', (row) => text(row.version)], ['Name', (row) => text(row.name)], ['Took', (row) => `${text(row.durationMs)} ms`]], ran),
    ...(repaired.length > 0 ? [h('p', {}, `Rebuilt invalid indexes: ${repaired.join(', ')}.`)] : []),
  ];
}

function presentDiagnostics(answer: JsonObject): Node[] {
  const thresholds = record(answer.thresholds);
  const stuckColumns = [videoColumn, ['Owner', (row: Row) => text(row.ownerId)], statusColumn, ['Age', (row: Row) => `${text(row.ageMinutes)} min`]] as const;
  return [
    h('p', { class: 'muted' }, `Generated ${when(answer.generatedAt)}.`),
    h('h4', {}, 'Videos by status'),
    ...section(answer.counts, (counts) => [
      table(`Total ${text(counts.total)}`, Object.keys(record(counts.byStatus)).map((status) => [humanKey(status), () => text(record(counts.byStatus)[status])] as const), [{}]),
    ]),
    h('h4', {}, 'Stuck'),
    ...section(answer.stuck, (stuck) => [
      ...sampled(`Uploads waiting over ${text(thresholds.stuckUploadHours)} h`, stuck.uploads, stuckColumns),
      ...sampled(`Ingests unchanged for ${text(thresholds.stuckIngestMinutes)} min`, stuck.ingests, stuckColumns),
      ...(stuck.deletions === undefined ? [] : sampled(`Deletions unfinished for ${text(thresholds.stuckIngestMinutes)} min`, stuck.deletions, stuckColumns)),
    ]),
    h('h4', {}, 'Fallback rows'),
    ...section(answer.fallback, (fallback) => [
      ...sampled('Deferred Mux data', fallback.deferred, [videoColumn, statusColumn, ['Fields', (row) => strings(row.fields).join(', ')], ['Since', (row) => when(row.deferredAt)]]),
      ...sampled('Missing Mux data', fallback.missingMuxData, [videoColumn, statusColumn, ['Updated', (row) => when(row.updatedAt)]]),
    ]),
    h('h4', {}, 'Recent Mux errors'),
    ...section(answer.muxErrors, (errors) =>
      sampled('Errored', errors, [videoColumn, statusColumn, ['Error', (row) => text(row.error)], ['Attempts', (row) => text(row.ingestAttempts)], ['Updated', (row) => when(row.updatedAt)]]),
    ),
    h('h4', {}, 'Unacknowledged events'),
    ...(answer.unacknowledgedEvents === undefined
      ? []
      : section(answer.unacknowledgedEvents, (events) =>
          sampled('Unpublished for over 5 min', events, [['Event', (row) => text(row.eventId)], videoColumn, statusColumn, ['Attempts', (row) => text(row.attempts)], ['Since', (row) => when(row.occurredAt)]]),
        )),
    h('details', { class: 'full-answer' }, h('summary', {}, 'Configuration'), renderJson(answer.configuration as Json)),
    fullAnswer(answer),
  ];
}

export function adminView(api: Api): HTMLElement {
  const refreshHealth = h('button', { type: 'button', 'aria-label': 'Refresh health' }, 'Refresh');
  const health = panel('admin-health', 'Health', refreshHealth);
  const apply = h('button', { type: 'button', class: 'primary', id: 'apply-migrations', disabled: true }, 'Apply pending migrations');
  const applyResult = h('div', { id: 'migration-result', role: 'status', 'aria-live': 'polite' });
  const migrations = panel('admin-migrations', 'Migrations', h('div', { class: 'actions' }, apply), applyResult);
  const refreshDiagnostics = h('button', { type: 'button', 'aria-label': 'Refresh diagnostics' }, 'Refresh');
  const diagnostics = panel('admin-diagnostics', 'Diagnostics', refreshDiagnostics);

  const showHealth = () => load(health.body, () => api.health(), presentHealth);
  const showDiagnostics = () => load(diagnostics.body, () => api.diagnostics(), presentDiagnostics);
  const showMigrations = async () => {
    const status = await load(migrations.body, () => api.migrationStatus(), presentMigrations);
    apply.disabled = rows(status?.pending).length === 0;
  };

  apply.addEventListener('click', async () => {
    apply.disabled = true;
    replaceChildren(applyResult, h('p', {}, 'Applying migrations…'));
    try {
      replaceChildren(applyResult, ...presentApplied(await api.applyMigrations()));
    } catch (error) {
      replaceChildren(applyResult, h('p', { class: 'error', role: 'alert' }, `Applying failed: ${describeError(error)}`));
    }
    focusOn(applyResult);
    await Promise.all([showMigrations(), showHealth(), showDiagnostics()]);
  });
  refreshHealth.addEventListener('click', () => void showHealth());
  refreshDiagnostics.addEventListener('click', () => void showDiagnostics());

  void Promise.all([showHealth(), showMigrations(), showDiagnostics()]);
  return h('div', { class: 'admin' }, health.section, migrations.section, diagnostics.section);
}
