/**
 * Where an unfinished upload is remembered, so a page reload or a process restart resumes it instead of starting
 * over. An entry holds the upload's idempotency key: creating the upload again with it lands on the same video with
 * fresh URLs, and only the parts S3 does not hold yet are sent.
 */

export interface ResumeEntry {
  /** The Idempotency-Key the upload was created with. */
  readonly idempotencyKey: string;
  /** Known once the API answered the create. */
  readonly videoId: string | null;
  readonly title: string;
  readonly filename: string;
  readonly size: number;
  readonly startedAt: string;
}

/** Sync or async, so localStorage, IndexedDB, a file or a database can all back it. */
export interface ResumeStore {
  get(key: string): ResumeEntry | undefined | Promise<ResumeEntry | undefined>;
  set(key: string, entry: ResumeEntry): void | Promise<void>;
  delete(key: string): void | Promise<void>;
  /** Every unfinished upload (for offering to resume them). */
  entries(): Array<[string, ResumeEntry]> | Promise<Array<[string, ResumeEntry]>>;
}

/** Lives as long as the process or page; serialisable with `toJSON` / `MemoryResumeStore.from`. */
export class MemoryResumeStore implements ResumeStore {
  readonly #entries = new Map<string, ResumeEntry>();

  static from(saved: Record<string, ResumeEntry>): MemoryResumeStore {
    const store = new MemoryResumeStore();
    for (const [key, entry] of Object.entries(saved)) store.set(key, entry);
    return store;
  }

  get(key: string): ResumeEntry | undefined {
    return this.#entries.get(key);
  }

  set(key: string, entry: ResumeEntry): void {
    this.#entries.set(key, entry);
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  entries(): Array<[string, ResumeEntry]> {
    return [...this.#entries];
  }

  toJSON(): Record<string, ResumeEntry> {
    return Object.fromEntries(this.#entries);
  }
}

/** The minimal part of the Web Storage API used here (localStorage, sessionStorage, or a stand-in). */
export interface WebStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ListableWebStorage extends WebStorage {
  readonly length: number;
  key(index: number): string | null;
}

/** Survives a reload: one localStorage item per upload under `prefix`. */
export class LocalStorageResumeStore implements ResumeStore {
  private readonly storage: ListableWebStorage;

  constructor(
    storage?: ListableWebStorage,
    private readonly prefix = 'reelay.upload.',
  ) {
    const found = storage ?? (globalThis as { localStorage?: ListableWebStorage }).localStorage;
    if (!found) throw new TypeError('LocalStorageResumeStore: no localStorage here; pass a storage or use MemoryResumeStore');
    this.storage = found;
  }

  get(key: string): ResumeEntry | undefined {
    return parseEntry(this.storage.getItem(this.prefix + key));
  }

  set(key: string, entry: ResumeEntry): void {
    this.storage.setItem(this.prefix + key, JSON.stringify(entry));
  }

  delete(key: string): void {
    this.storage.removeItem(this.prefix + key);
  }

  entries(): Array<[string, ResumeEntry]> {
    const found: Array<[string, ResumeEntry]> = [];
    for (let index = 0; index < this.storage.length; index += 1) {
      const name = this.storage.key(index);
      if (name === null || !name.startsWith(this.prefix)) continue;
      const entry = parseEntry(this.storage.getItem(name));
      if (entry) found.push([name.slice(this.prefix.length), entry]);
    }
    return found;
  }
}

function parseEntry(text: string | null): ResumeEntry | undefined {
  if (text === null) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && typeof (value as ResumeEntry).idempotencyKey === 'string' ? (value as ResumeEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** What identifies "the same file" across a reload: a picked file cannot be kept, only recognised. */
export function fileFingerprint(file: { readonly name?: string; readonly size: number; readonly lastModified?: number; readonly type?: string }, owner = ''): string {
  return [owner, file.name ?? '', file.size, file.lastModified ?? 0, file.type ?? ''].join(':');
}
