/**
 * Issue N, "Smaller": a delivery that loses its claim to a holder who gives it back must not be dropped, and a failure
 * before the create call (the passthrough search, presigning) gives the claim back at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoDB } from '../../shared/db/video-db.js';
import { MuxApiError } from '../../shared/errors.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { IngestService, type IngestServiceOptions } from '../../shared/videos/ingest-service.js';
import { backends } from '../support/databases.js';
import { assetsFor, startPipeline, type Pipeline } from './ingest-support.js';

describe.each(backends)('ingest claims on %s', (backend) => {
  let pipeline: Pipeline;

  beforeAll(async () => {
    pipeline = await startPipeline(backend);
  });
  afterAll(async () => {
    await pipeline.close();
  });

  function service(overrides: Partial<IngestServiceOptions> = {}): IngestService {
    const mux = muxFromEnv(pipeline.env);
    return new IngestService({ videos: pipeline.videos, storage: storageFromEnv(pipeline.env).storage, gateway: mux.gateway, binding: mux.binding, staleClaimSeconds: 60, ...overrides });
  }

  /** Another holder (reconcile) takes the claim just before this delivery's, and gives it back just after. */
  function losingOnce(videos: VideoDB, times = 1): VideoDB {
    let losses = 0;
    return new Proxy(videos, {
      get(target, property, receiver) {
        if (property !== 'claimIngest') {
          const value = Reflect.get(target, property, receiver) as unknown;
          // VideoDB's methods read private fields: call them on the real object.
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        const claimIngest: VideoDB['claimIngest'] = async (id, options) => {
          if (losses >= times) return target.claimIngest(id, options);
          losses += 1;
          expect((await target.claimIngest(id, { from: ['uploaded'] })).video).not.toBeNull();
          const lost = await target.claimIngest(id, options);
          await target.releaseIngestClaim(id);
          return lost;
        };
        return claimIngest;
      },
    });
  }

  it('claims again and creates when the video is back in uploaded after a lost claim (not skipped, not_claimable)', async () => {
    const { video } = await pipeline.upload({ status: 'uploaded' });
    const outcome = await service({ videos: losingOnce(pipeline.videos) }).ingestVideo(video, { from: ['uploaded'], receiveCount: 1 });
    expect(outcome).toMatchObject({ result: 'created', videoId: video.id });
    expect(assetsFor(pipeline, video.id)).toHaveLength(1);
  });

  it('asks for a retry when it loses twice (the message comes back, never dropped)', async () => {
    const { video } = await pipeline.upload({ status: 'uploaded' });
    const outcome = await service({ videos: losingOnce(pipeline.videos, 2) }).ingestVideo(video, { from: ['uploaded'], receiveCount: 1 });
    expect(outcome).toMatchObject({ result: 'retry', reason: 'claimed_elsewhere' });
    expect(assetsFor(pipeline, video.id)).toHaveLength(0);
  });

  it('gives the claim back when presigning fails before the create', async () => {
    const { video } = await pipeline.upload({ status: 'uploaded' });
    const storage = storageFromEnv(pipeline.env).storage;
    const failing = new Proxy(storage, {
      get(target, property, receiver) {
        if (property === 'presignGet') return () => Promise.reject(new Error('no credentials'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(service({ storage: failing }).ingestVideo(video, { from: ['uploaded'] })).rejects.toThrow('no credentials');
    expect((await pipeline.videos.findById(video.id))?.status).toBe('uploaded');
  });

  it('gives the claim back and retries with Retry-After when the passthrough search is throttled', async () => {
    const { video } = await pipeline.upload({ status: 'uploaded' });
    const mux = muxFromEnv(pipeline.env);
    const gateway = async () => ({
      ...(await mux.gateway()),
      findAsset: () => Promise.reject(new MuxApiError('Mux list assets failed with 429', 429, true, { retryAfterMs: 3000 })),
    });
    const outcome = await service({ gateway }).ingestVideo(video, { from: ['uploaded'], receiveCount: 2 });
    expect(outcome).toEqual({ result: 'retry', videoId: video.id, reason: 'mux_unavailable', retryAfterMs: 3000 });
    expect((await pipeline.videos.findById(video.id))?.status).toBe('uploaded');
  });
});
