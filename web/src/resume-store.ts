/**
 * Multipart uploads that have not finished, kept in localStorage so a reload (or a crash) does not lose them. A file
 * cannot be kept, only recognised: after a reload the user picks it again, and name + size + lastModified tell that
 * it is the same one.
 */
export interface PendingUpload {
  readonly videoId: string;
  readonly title: string;
  readonly fileName: string;
  readonly fileSize: number;
  readonly lastModified: number;
  /** Who started it: another user signed in on this browser must not be offered it. */
  readonly owner: string;
  readonly startedAt: string;
}

const storageKey = 'reelay.pendingUploads';

function readAll(): PendingUpload[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(storageKey) ?? '[]');
    return Array.isArray(parsed) ? (parsed as PendingUpload[]).filter((entry) => typeof entry?.videoId === 'string') : [];
  } catch {
    return [];
  }
}

function writeAll(entries: readonly PendingUpload[]): void {
  if (entries.length === 0) localStorage.removeItem(storageKey);
  else localStorage.setItem(storageKey, JSON.stringify(entries));
}

export const pendingUploads = {
  list(owner: string): PendingUpload[] {
    return readAll().filter((entry) => entry.owner === owner);
  },
  save(entry: PendingUpload): void {
    writeAll([...readAll().filter((existing) => existing.videoId !== entry.videoId), entry]);
  },
  remove(videoId: string): void {
    writeAll(readAll().filter((entry) => entry.videoId !== videoId));
  },
  /** The unfinished upload this file belongs to, if any. */
  matching(owner: string, file: File): PendingUpload | undefined {
    return readAll().find(
      (entry) => entry.owner === owner && entry.fileName === file.name && entry.fileSize === file.size && entry.lastModified === file.lastModified,
    );
  },
};
