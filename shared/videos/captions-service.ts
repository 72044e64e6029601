/**
 * Captions for a video whose generated English text track is ready: Mux serves the track as WebVTT and, for
 * generated tracks, a plain-text transcript; it has no SRT, so the VTT is converted here and stored in S3.
 *
 * What ends up in the row:
 * - `captions_webvtt_url`: Mux's `…/{playbackId}/text/{trackId}.vtt`, stored without a token (for a signed playback
 *   policy the videos function adds one on read; the fetches here carry a short-lived one of their own);
 * - `transcript_text`: the `.txt` Mux serves for generated tracks;
 * - `captions_srt_url`: `s3://<bucket>/<key>` of the converted SRT (the videos function presigns it on read);
 * - `transcription_job_id` and `mux_text_track_id`: the track id (Mux's "job" is the track);
 * - `transcript_confidence` stays null: Mux does not report a confidence for generated subtitles.
 *
 * The VTT URL needs nothing but the asset, so it is always returned; the transcript and the SRT need two fetches and
 * an S3 write, and a failure of either is reported in `missing` instead of thrown, so the caller can store what it
 * has (the reconcile job completes the rest later: see ReconcileService).
 */
import type { MuxFields } from '../db/video-fields.js';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import { generatedTextTrack, primaryPlaybackId, type MuxAsset, type MuxPlaybackPolicy } from '../mux/assets.js';
import type { MuxGateway } from '../mux/client.js';
import type { MuxSigningKey } from '../mux/config.js';
import { signPlaybackToken, withToken } from '../mux/playback-tokens.js';
import { vttToSrt } from '../mux/captions.js';
import type { MuxUrls } from '../mux/urls.js';
import type { UploadStorage } from '../storage/uploads.js';

export type CaptionStorage = Pick<UploadStorage, 'bucket' | 'captionsKeyFor' | 'putObject'>;

export interface CaptionsServiceOptions {
  /** Resolved on first use, so a function can keep the S3 SDK out of its cold start. */
  readonly storage: CaptionStorage | (() => Promise<CaptionStorage>);
  readonly urls: MuxUrls;
  readonly playbackPolicy?: MuxPlaybackPolicy;
  /** The URL signing key, for the fetches of a signed playback id's text track (MuxConfig.loadSigningKey). */
  readonly signingKey?: () => Promise<MuxSigningKey | null>;
  /**
   * How long the transcript and SRT may take before they are reported missing (default 3 s): a webhook must answer
   * within Mux's 5 s, or Mux counts it as failed and sends it again.
   */
  readonly budgetMs?: number;
  readonly logger?: Logger;
}

export type CaptionFields = Pick<
  MuxFields,
  'textTrackId' | 'transcriptionJobId' | 'captionsWebvttUrl' | 'transcriptText' | 'captionsSrtUrl'
>;

export interface CaptionsResult {
  /** Only the fields that could be obtained; absent ones are left as they are in the row. */
  readonly fields: Partial<CaptionFields>;
  /** What could not be obtained this time. */
  readonly missing: ReadonlyArray<'transcript' | 'srt'>;
}

/** The language reelay asks Mux to generate (client.ts `generated_subtitles`). */
export const captionLanguage = 'en';

/** `work`, or a rejection once `ms` have passed (the work itself runs on; everything it does is idempotent). */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`not done within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/** How long the token of a text-track fetch is valid: the fetch is made at once. */
const fetchTokenSeconds = 300;

export class CaptionsService {
  readonly #storage: () => Promise<CaptionStorage>;
  readonly #urls: MuxUrls;
  readonly #playbackPolicy: MuxPlaybackPolicy | undefined;
  readonly #signingKey: (() => Promise<MuxSigningKey | null>) | undefined;
  readonly #budgetMs: number;
  readonly #logger: Logger;

  constructor(options: CaptionsServiceOptions) {
    const { storage } = options;
    this.#storage = typeof storage === 'function' ? storage : async () => storage;
    this.#urls = options.urls;
    this.#playbackPolicy = options.playbackPolicy;
    this.#signingKey = options.signingKey;
    this.#budgetMs = options.budgetMs ?? 3_000;
    this.#logger = options.logger ?? silentLogger;
  }

  /** Null when the asset has no ready generated text track (or no playback id to address it by). */
  async collect(videoId: string, asset: MuxAsset, gateway: Pick<MuxGateway, 'fetchText'>): Promise<CaptionsResult | null> {
    const track = generatedTextTrack(asset);
    const playbackId = primaryPlaybackId(asset, this.#playbackPolicy);
    if (track?.id == null || track.status !== 'ready' || playbackId === null) return null;
    const trackId = track.id;
    const fields: Partial<CaptionFields> = {
      textTrackId: trackId,
      transcriptionJobId: trackId,
      captionsWebvttUrl: this.#urls.textTrackVtt(playbackId, trackId),
    };
    const missing: Array<'transcript' | 'srt'> = [];
    const fetchable = this.#signer(playbackId);
    const [transcript, srt] = await Promise.allSettled([
      within(this.#budgetMs, fetchable.then((sign) => gateway.fetchText(sign(this.#urls.textTrackTxt(playbackId, trackId))))),
      within(this.#budgetMs, fetchable.then((sign) => this.#storeSrt(videoId, gateway, sign(this.#urls.textTrackVtt(playbackId, trackId))))),
    ]);
    if (transcript.status === 'fulfilled') fields.transcriptText = transcript.value.trim();
    else missing.push('transcript');
    if (srt.status === 'fulfilled') fields.captionsSrtUrl = srt.value;
    else missing.push('srt');
    for (const [part, result] of [['transcript', transcript], ['srt', srt]] as const) {
      if (result.status === 'rejected') this.#logger.warn('captions.part_failed', { videoId, trackId, part, error: result.reason });
    }
    this.#logger.info('captions.collected', { videoId, trackId, missing });
    return { fields, missing };
  }

  /**
   * How a text-track URL is made fetchable: as is for a public playback id; with a `v` token for a signed one (the
   * key failing to load fails both fetches, which are then reported missing and tried again by reconcile).
   */
  #signer(playbackId: string): Promise<(url: string) => string> {
    const signer: Promise<(url: string) => string> =
      this.#playbackPolicy !== 'signed'
        ? Promise.resolve((url: string) => url)
        : (async () => {
            const key = (await this.#signingKey?.()) ?? null;
            if (key === null) throw new Error('the playback policy is signed but no URL signing key is configured');
            const token = signPlaybackToken(key, { sub: playbackId, aud: 'v', exp: Math.floor(Date.now() / 1000) + fetchTokenSeconds });
            return (url: string) => withToken(url, token);
          })();
    // Both fetches share one signer, and each reports its rejection through allSettled.
    signer.catch(() => undefined);
    return signer;
  }

  async #storeSrt(videoId: string, gateway: Pick<MuxGateway, 'fetchText'>, vttUrl: string): Promise<string> {
    const srt = vttToSrt(await gateway.fetchText(vttUrl));
    const storage = await this.#storage();
    const key = storage.captionsKeyFor(videoId, captionLanguage);
    await storage.putObject(key, srt, 'application/x-subrip; charset=utf-8');
    return `s3://${storage.bucket}/${key}`;
  }
}
