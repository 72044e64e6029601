import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cannedTranscript } from '../../local/mux-emulator/media.js';
import type { MuxAsset } from '../../shared/mux/assets.js';
import type { MuxGateway } from '../../shared/mux/client.js';
import { muxUrls } from '../../shared/mux/urls.js';
import { muxFromEnv } from '../../shared/runtime/mux.js';
import { storageFromEnv } from '../../shared/runtime/storage.js';
import { CaptionsService } from '../../shared/videos/captions-service.js';
import { UploadStorage } from '../../shared/storage/uploads.js';
import { closedPort } from '../functions/admin-support.js';
import { assetsFor, sqsEvent, startPipeline, type Pipeline } from './ingest-support.js';

describe('CaptionsService', () => {
  let pipeline: Pipeline;
  let gateway: MuxGateway;
  let videoId: string;
  let asset: MuxAsset;

  beforeAll(async () => {
    pipeline = await startPipeline('pglite');
    const { video, record } = await pipeline.upload({ options: { captions: true } });
    await pipeline.ingest(sqsEvent([{ record }]));
    await pipeline.mux.whenIdle();
    gateway = await muxFromEnv(pipeline.env).gateway();
    videoId = video.id;
    asset = (await gateway.getAsset(assetsFor(pipeline, video.id)[0]!.id))!;
  });
  afterAll(async () => {
    await pipeline.close();
  });

  it('returns nothing for an asset without a ready generated track', async () => {
    const captions = new CaptionsService({ storage: storageFromEnv(pipeline.env).storage, urls: muxFromEnv(pipeline.env).urls });

    expect(await captions.collect(videoId, { ...asset, tracks: [] }, gateway)).toBeNull();
  });

  it('still gives the VTT URL and the transcript when the SRT cannot be stored', async () => {
    const { client } = storageFromEnv(pipeline.env);
    const storage = new UploadStorage({ client, bucket: 'no-such-bucket', prefix: 'uploads/', urlTtlSeconds: 60 });
    const captions = new CaptionsService({ storage, urls: muxFromEnv(pipeline.env).urls });

    const result = await captions.collect(videoId, asset, gateway);

    expect(result?.missing).toEqual(['srt']);
    expect(result?.fields.transcriptText).toBe(cannedTranscript().trim());
    expect(result?.fields.captionsWebvttUrl).toMatch(/\.vtt$/);
    expect(result?.fields.captionsSrtUrl).toBeUndefined();
  });

  it('still gives the VTT URL when Mux’s text files cannot be fetched in time', async () => {
    const unreachable = `http://127.0.0.1:${await closedPort()}`;
    const captions = new CaptionsService({
      storage: storageFromEnv(pipeline.env).storage,
      urls: muxUrls({ streamBaseUrl: unreachable, imageBaseUrl: unreachable }),
      budgetMs: 500,
    });

    const result = await captions.collect(videoId, asset, gateway);

    expect(result?.missing).toEqual(['transcript', 'srt']);
    expect(result?.fields.captionsWebvttUrl).toMatch(new RegExp(`^${unreachable}/.+\\.vtt$`));
    expect(result?.fields.textTrackId).toBe(result?.fields.transcriptionJobId);
  });
});
