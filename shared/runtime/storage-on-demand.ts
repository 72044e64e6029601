/**
 * Upload storage for functions that use it on some requests only (signing links to stored captions, writing caption
 * tracks): the settings are parsed at cold start with the rest of the function's configuration, and the S3 SDK is
 * imported on first use, so invocations that never touch the bucket do not load it.
 */
import { ConfigurationError } from '../errors.js';
import type { StorageSettings } from '../storage/config.js';
import type { UploadStorage } from '../storage/uploads.js';
import { once } from './lazy.js';

/** The storage, built on first call; without settings (UPLOAD_BUCKET unset) that call fails with the reason. */
export function storageOnDemand(settings: StorageSettings | undefined): () => Promise<UploadStorage> {
  return once(async () => {
    if (settings === undefined) throw new ConfigurationError('UPLOAD_BUCKET is required', { variable: 'UPLOAD_BUCKET', accepted: 'a non-empty value' });
    return (await import('./storage.js')).storageServices(settings).storage;
  });
}
