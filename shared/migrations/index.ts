/**
 * reelay's migrations, in order. Append new ones; never edit one that has been shipped (the ledger refuses it, and
 * test/migrations/frozen.test.ts pins every checksum). See README.md in this folder.
 */
import type { Migration } from './migration.js';
import { basicVideos } from './0001_basic_videos.js';
import { muxColumnsMigration } from './0002_mux_columns.js';
import { indexesMigration } from './0003_indexes.js';
import { databaseRolesMigration } from './0004_database_roles.js';
import { videoDeletionMigration } from './0005_video_deletion.js';
import { videoEventsMigration } from './0006_video_events.js';

export const migrations: readonly Migration[] = [basicVideos, muxColumnsMigration, indexesMigration, databaseRolesMigration, videoDeletionMigration, videoEventsMigration];

export const latestVersion: number = migrations[migrations.length - 1]?.version ?? 0;
