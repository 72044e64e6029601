/**
 * 0001: the legacy `videos` table, what production had before the Mux fix: the basic columns, and the S3
 * multipart upload id (`s3_upload_id`), which the upload routes need on every schema to sign, list, complete and
 * abort a multipart upload. Kept as its own migration so a database "at 0001" can be built on purpose, which is
 * how the fallback path of the data layer is tested.
 *
 * Timestamps are `timestamp` (without time zone) holding UTC, the convention of the driver contract; the default
 * converts explicitly so it does not depend on the session's TimeZone setting.
 *
 * Frozen: applied databases hold this file's checksum (README.md in this folder).
 */
import { transactionStep, type Migration } from './migration.js';

export const basicVideos: Migration = {
  version: 1,
  name: 'basic_videos',
  steps: [
    transactionStep(`
      CREATE TABLE IF NOT EXISTS videos (
        id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        owner_id          text NOT NULL,
        title             text NOT NULL,
        description       text,
        original_filename text NOT NULL,
        content_type      text NOT NULL,
        size_bytes        bigint NOT NULL,
        s3_key            text NOT NULL UNIQUE,
        s3_upload_id      text,
        status            text NOT NULL DEFAULT 'awaiting_upload',
        created_at        timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
        updated_at        timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
      )`),
  ],
};
