/**
 * Playback: the stream.mux.com / image.mux.com paths (the emulator serves them on its own origin):
 * `/{playbackId}.m3u8`, `/{playbackId}/rendition.m3u8`, `/{playbackId}/highest.mp4` (and other static renditions),
 * `/{playbackId}/thumbnail.jpg`, `/{playbackId}/text/{trackId}.vtt|.txt`. It does not transcode (see media.ts): the
 * MP4 is the input as uploaded. Signed playback ids need a valid `?token=` (playback.ts checks it); their playlists
 * carry the token on.
 */
import type { ServerResponse } from 'node:http';
import { sendBody } from './http.js';
import { cannedCaptionsVtt, cannedTranscript, hlsMasterPlaylist, hlsMediaPlaylist, placeholderThumbnail } from './media.js';
import type { PlaybackGate } from './playback.js';
import type { EmulatorStore } from './store.js';
import type { EmulatedAsset } from './types.js';

async function sourceBytes(store: EmulatorStore, asset: EmulatedAsset): Promise<Buffer | null> {
  const retained = store.retainedInput.get(asset.id);
  if (retained) return retained;
  // Too large to keep: fetch it again (works while the presigned URL is still valid).
  const response = await fetch(asset.input.url).catch(() => null);
  return response?.ok ? Buffer.from(await response.arrayBuffer()) : null;
}

/** stream.mux.com / image.mux.com paths. Mux answers 412 for an asset that is not ready yet. */
export async function handlePlayback(store: EmulatorStore, gate: PlaybackGate, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname;
  const match = /^\/([A-Za-z0-9]+)(\.m3u8|\/.+)$/.exec(path);
  const asset = match ? store.byPlaybackId.get(match[1] ?? '') : undefined;
  if (!match || !asset || asset.deleted) {
    sendBody(res, 404, 'text/plain', 'Not found\n');
    return;
  }
  if (asset.json.status !== 'ready') {
    sendBody(res, 412, 'text/plain', 'The asset is not ready\n');
    return;
  }
  const playbackId = match[1] ?? '';
  const rest = match[2] ?? '';
  const policy = asset.json.playback_ids.find((candidate) => candidate.id === playbackId)?.policy ?? 'public';
  const token = policy === 'signed' ? url.searchParams.get('token') : null;
  const refusal = gate.check(playbackId, policy, path, token);
  if (refusal !== null) return sendBody(res, 403, 'text/plain', `Forbidden: ${refusal}\n`);
  const duration = asset.json.duration ?? 0;
  const playlist = (body: string) => sendBody(res, 200, 'application/vnd.apple.mpegurl', gate.tokenizePlaylist(body, token));
  if (rest === '.m3u8') return playlist(hlsMasterPlaylist(playbackId));
  if (rest === '/rendition.m3u8') return playlist(hlsMediaPlaylist(playbackId, duration));
  if (rest === '/thumbnail.jpg') return sendBody(res, 200, 'image/jpeg', placeholderThumbnail);

  const text = /^\/text\/([A-Za-z0-9]+)\.(vtt|txt)$/.exec(rest);
  if (text) {
    const textTrack = asset.json.tracks.find((candidate) => candidate.id === text[1] && candidate.type === 'text');
    if (!textTrack || textTrack.status !== 'ready') return sendBody(res, 404, 'text/plain', 'No such text track\n');
    return text[2] === 'vtt'
      ? sendBody(res, 200, 'text/vtt', cannedCaptionsVtt(duration))
      : sendBody(res, 200, 'text/plain; charset=utf-8', cannedTranscript());
  }

  const fileName = rest.slice(1);
  const rendition = asset.json.static_renditions?.files.find((file) => file.name === fileName);
  if (fileName === 'source' || rendition?.status === 'ready') {
    const bytes = await sourceBytes(store, asset);
    if (bytes) return sendBody(res, 200, asset.input.contentType ?? 'video/mp4', bytes);
  }
  sendBody(res, 404, 'text/plain', 'Not found\n');
}
