/**
 * The client's pure parts: Retry-After parsing, backoff bounds, the stores' round trips, file fingerprints, types.
 */
import { describe, expect, it } from 'vitest';
import { contentTypeFor, fileFingerprint, LocalStorageResumeStore, MemoryResumeStore, type ListableWebStorage, type ResumeEntry } from '../../client/index.js';
import { resolveRetry, retryAfterMs } from '../../client/retry.js';

const entry: ResumeEntry = { idempotencyKey: 'key-1', videoId: null, title: 't', filename: 'a.mp4', size: 10, startedAt: '2026-12-03T00:00:00.000Z' };

/** The Web Storage API's contract, kept in a Map (what a browser's localStorage does, minus persistence). */
class MapStorage implements ListableWebStorage {
  readonly #items = new Map<string, string>();
  get length() {
    return this.#items.size;
  }
  key(index: number) {
    return [...this.#items.keys()][index] ?? null;
  }
  getItem(key: string) {
    return this.#items.get(key) ?? null;
  }
  setItem(key: string, value: string) {
    this.#items.set(key, String(value));
  }
  removeItem(key: string) {
    this.#items.delete(key);
  }
}

describe('Retry-After', () => {
  it('reads delta-seconds and HTTP dates, and ignores what it cannot read', () => {
    expect(retryAfterMs('3')).toBe(3_000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(new Date(1_000).toUTCString(), 4_000)).toBe(0);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});

describe('backoff', () => {
  it('pauses a random time up to a cap that doubles per try, never past the maximum; Retry-After wins', () => {
    const highest = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1_000 }, { random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map((attempt) => highest.delay(attempt))).toEqual([99, 199, 399, 799, 999]);
    expect(resolveRetry({}, { random: () => 0 }).delay(3)).toBe(0);
    expect(highest.delay(1, 250)).toBe(250);
    expect(highest.delay(1, 60_000)).toBe(1_000);
  });
});

describe('resume stores', () => {
  it('keep, list and forget entries; the memory store survives JSON', () => {
    const memory = new MemoryResumeStore();
    memory.set('a', entry);
    const revived = MemoryResumeStore.from(JSON.parse(JSON.stringify(memory)) as Record<string, ResumeEntry>);
    expect(revived.get('a')).toEqual(entry);
    expect(revived.entries()).toEqual([['a', entry]]);
    revived.delete('a');
    expect(revived.get('a')).toBeUndefined();
  });

  it('localStorage: one item per upload under its prefix, unreadable items skipped', () => {
    const storage = new MapStorage();
    storage.setItem('other.app', 'x');
    storage.setItem('reelay.upload.broken', '{not json');
    const store = new LocalStorageResumeStore(storage);
    store.set('file-1', entry);
    expect(JSON.parse(storage.getItem('reelay.upload.file-1') ?? '')).toEqual(entry);
    expect(new LocalStorageResumeStore(storage).entries()).toEqual([['file-1', entry]]);
    store.delete('file-1');
    expect(store.get('file-1')).toBeUndefined();
    expect(() => new LocalStorageResumeStore()).toThrow(/no localStorage/);
  });
});

describe('files', () => {
  it('are recognised by owner, name, size, date and type; types guessed from the extension when missing', () => {
    const file = { name: 'a.mkv', size: 5, lastModified: 7, type: '' };
    expect(fileFingerprint(file, 'alice')).toBe('alice:a.mkv:5:7:');
    expect(fileFingerprint(file, 'bob')).not.toBe(fileFingerprint(file, 'alice'));
    expect(contentTypeFor(file)).toBe('video/x-matroska');
    expect(contentTypeFor({ name: 'a.MOV' })).toBe('video/quicktime');
    expect(contentTypeFor({ name: 'a', type: 'video/webm' })).toBe('video/webm');
    expect(contentTypeFor({ name: 'README' })).toBe('application/octet-stream');
  });
});
