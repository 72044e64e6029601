/**
 * Mux Player for a ready video, loaded on first use (it is most of the console's bytes) from the bundle, never a CDN.
 *
 * With Mux's own stream URL the player gets the playback id and builds everything itself (poster, storyboard,
 * captions from the manifest). Any other stream URL — the local Mux emulator, a custom domain — is given as `src`,
 * because a playback id alone would send the player to stream.mux.com.
 *
 * A signed playback id's URLs carry their `token` (minted by the API at read time): with a playback id the player is
 * given the stream's as `playback-token` and the thumbnail's as `thumbnail-token` (with no storyboard token it shows
 * no storyboard rather than asking for one unsigned); with `src` the tokenized URLs work as they are.
 */
import type { VideoJson } from './api.js';
import { h } from './dom.js';

export async function createPlayer(video: VideoJson): Promise<HTMLElement> {
  await import('@mux/mux-player');
  const mux = video.mux;
  const player = document.createElement('mux-player');
  const playbackId = mux?.playbackId ?? null;
  const streamingUrl = mux?.streamingUrl ?? null;
  const stream = streamingUrl ? new URL(streamingUrl) : null;
  if (playbackId && stream && `${stream.origin}${stream.pathname}` === `https://stream.mux.com/${playbackId}.m3u8`) {
    player.setAttribute('playback-id', playbackId);
    const playbackToken = stream.searchParams.get('token');
    const thumbnailToken = mux?.thumbnailUrl ? new URL(mux.thumbnailUrl).searchParams.get('token') : null;
    if (playbackToken) player.setAttribute('playback-token', playbackToken);
    if (thumbnailToken) player.setAttribute('thumbnail-token', thumbnailToken);
  } else if (streamingUrl) {
    player.setAttribute('src', streamingUrl);
    if (mux?.thumbnailUrl) player.setAttribute('poster', mux.thumbnailUrl);
  }
  if (playbackId) player.dataset.playbackId = playbackId;
  player.setAttribute('stream-type', 'on-demand');
  player.setAttribute('metadata-video-id', video.id);
  player.setAttribute('metadata-video-title', video.title);
  player.setAttribute('title', video.title);
  player.setAttribute('accent-color', '#3b5bdb');
  if (mux?.aspectRatio) player.style.aspectRatio = mux.aspectRatio.replace(':', ' / ');
  disableCasting(player);
  return player;
}

/**
 * No Chromecast: its sender SDK is Google's script (`cast_sender.js`, then two more) that the player would load from
 * www.gstatic.com the first time its media element's `remote` is read — a CDN, where the console loads nothing from.
 * Mux Player (3.x) has no attribute for it, but its media element, `<mux-video>`, checks the standard
 * `disableremoteplayback` attribute before loading the SDK (castable-video), and the cast button goes with it
 * (`--cast-button: none`, Mux Player's own switch for that button). The attributes set above have already rendered
 * the player's shadow tree, so its media element exists here, before the player is connected and reads `remote`.
 */
function disableCasting(player: HTMLElement): void {
  // Absent only if a later Mux Player renders differently; the console's browser test fails then (no request may
  // leave the machine), rather than the player refusing to play here.
  (player as HTMLElement & { media?: HTMLElement | null }).media?.setAttribute('disableremoteplayback', '');
  player.style.setProperty('--cast-button', 'none');
}

/** Captions and transcript links shown under the player when Mux produced them. */
export function captionsBlock(video: VideoJson): HTMLElement | null {
  const captions = video.captions;
  if (!captions || (!captions.webvttUrl && !captions.srtUrl && !captions.transcriptText)) return null;
  const links = [
    captions.webvttUrl && h('a', { href: captions.webvttUrl, download: '' }, 'WebVTT'),
    captions.srtUrl && h('a', { href: captions.srtUrl, download: '' }, 'SRT'),
  ].filter((link): link is HTMLAnchorElement => Boolean(link));
  return h(
    'div',
    { class: 'captions' },
    links.length > 0 && h('p', {}, 'Captions: ', ...links.flatMap((link, index) => (index === 0 ? [link] : [' · ', link]))),
    captions.transcriptText &&
      h(
        'details',
        {},
        h('summary', {}, 'Transcript', captions.transcriptConfidence !== null ? ` (confidence ${Math.round(captions.transcriptConfidence * 100)} %)` : ''),
        h('p', { class: 'transcript' }, captions.transcriptText),
      ),
  );
}
