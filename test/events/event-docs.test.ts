/**
 * docs/EVENTS.md prints the JSON Schema of every detail-type; they are generated from shared/events/video-event-schema.ts,
 * and this fails when the two drift. `UPDATE_DOCS=1` rewrites the block instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detailJsonSchema, detailSchemas } from '../../shared/events/video-event-schema.js';
import { detailTypeNames, detailTypes, eventStatuses } from '../../shared/events/video-events.js';

const docsPath = new URL('../../docs/EVENTS.md', import.meta.url);
const begin = '<!-- schemas:begin -->';
const end = '<!-- schemas:end -->';

const json = (value: unknown) => `\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\``;

/** Each detail-type's schema, then the `Video` they all refer to (`#/$defs/Video`), printed once. */
function schemaBlock(): string {
  const sections = detailTypeNames.map((detailType) => {
    const { $defs, ...schema } = detailJsonSchema(detailType) as { $defs?: unknown };
    void $defs;
    return `### \`${detailType}\`\n\n${json(schema)}`;
  });
  const defs = (detailJsonSchema('Video Ready') as { $defs: { Video: unknown } }).$defs;
  return [...sections, `### \`$defs\` (\`Video\`, shared by all of them)\n\n${json(defs)}`].join('\n\n');
}

describe('docs/EVENTS.md', () => {
  it('prints the current JSON Schema of every detail-type', () => {
    const docs = readFileSync(docsPath, 'utf8');
    const start = docs.indexOf(begin);
    const stop = docs.indexOf(end);
    expect(start, 'the schemas markers').toBeGreaterThan(0);
    const printed = docs.slice(start + begin.length, stop).trim();
    if (process.env.UPDATE_DOCS === '1') {
      writeFileSync(docsPath, `${docs.slice(0, start + begin.length)}\n${schemaBlock()}\n${docs.slice(stop)}`);
      return;
    }
    expect(printed, 'run UPDATE_DOCS=1 npx vitest run test/events/event-docs.test.ts').toBe(schemaBlock());
  });

  it('names every detail-type in its table, with its status', () => {
    const docs = readFileSync(docsPath, 'utf8');
    for (const status of eventStatuses) expect(docs).toContain(`| \`${detailTypes[status]}\` | \`${status}\` |`);
  });

  it('has a schema for every detail-type, each accepting only its own status', () => {
    expect(Object.keys(detailSchemas).sort()).toEqual([...detailTypeNames].sort());
    const ready = detailSchemas['Video Ready'];
    const base = { eventId: crypto.randomUUID(), videoId: crypto.randomUUID(), ownerId: 'alice', occurredAt: new Date().toISOString() };
    const video = {
      id: base.videoId, ownerId: 'alice', title: 't', description: null, status: 'ready', filename: 'f.mp4', contentType: 'video/mp4', size: 1,
      createdAt: base.occurredAt, updatedAt: base.occurredAt, mux: null, audio: null, captions: null,
    };
    expect(ready.safeParse({ ...base, status: 'ready', video }).success).toBe(true);
    expect(ready.safeParse({ ...base, status: 'errored', video }).success).toBe(false);
    expect(ready.safeParse({ ...base, status: 'ready', video: { ...video, token: 'x' } }).success).toBe(false);
  });
});
