/**
 * Object key naming under the upload prefix: `${prefix}${videoId}/source.${ext}` for sources and
 * `${prefix}${videoId}/captions/${language}.srt` for captions. Keys never carry user text beyond a short
 * alphanumeric extension (no path tricks, no odd encodings in notifications).
 */
import { ValidationError } from '../errors.js';
import { issueAt } from './plan.js';

export class UploadKeys {
  constructor(readonly prefix: string) {}

  /** The source key of `videoId`; the user's filename contributes at most its extension. */
  objectKeyFor(videoId: string, filename: string): string {
    if (!/^[A-Za-z0-9-]{1,64}$/.test(videoId)) {
      throw new ValidationError(`Not a usable video id for an object key: "${videoId}"`, [issueAt(['videoId'], 'letters, digits and dashes only')]);
    }
    const extension = /\.([A-Za-z0-9]{1,10})$/.exec(filename.trim())?.[1]?.toLowerCase();
    return `${this.prefix}${videoId}/source${extension === undefined ? '' : `.${extension}`}`;
  }

  /**
   * Where the SRT made from a Mux text track goes. Inside the upload prefix (the only one the functions' IAM role may
   * write), and not a source key, so the object-created event it raises is recognisable and skipped by ingest
   * ({@link videoIdFromKey} returns undefined for it).
   */
  captionsKeyFor(videoId: string, language: string): string {
    if (!/^[A-Za-z0-9-]{1,35}$/.test(language)) {
      throw new ValidationError(`Not a usable caption language for an object key: "${language}"`, [issueAt(['language'], 'letters, digits and dashes only')]);
    }
    const source = this.objectKeyFor(videoId, '');
    return `${source.slice(0, -'source'.length)}captions/${language}.srt`;
  }

  /**
   * The video whose folder holds `key` (`${prefix}${videoId}/…`: its source, its captions, anything), or undefined
   * for a key outside every video's folder.
   */
  folderVideoIdFromKey(key: string): string | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    return /^([A-Za-z0-9-]{1,64})\/./.exec(key.slice(this.prefix.length))?.[1];
  }

  /** The video id inside a key made by {@link objectKeyFor}, or undefined for any other key. */
  videoIdFromKey(key: string): string | undefined {
    if (!key.startsWith(this.prefix)) return undefined;
    return /^([A-Za-z0-9-]{1,64})\/source(?:\.[a-z0-9]{1,10})?$/.exec(key.slice(this.prefix.length))?.[1];
  }
}
