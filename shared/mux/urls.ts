/**
 * Playback, thumbnail, MP4 and text-track URLs for a playback id (docs: stream.mux.com / image.mux.com). The hosts are
 * configurable because, locally, the Mux emulator serves them too.
 *
 * For a `signed` playback policy these URLs need a `?token=` JWT at request time; reelay stores them unsigned.
 */

export interface MuxUrlHosts {
  /** Origin of HLS, MP4 and text tracks; default `https://stream.mux.com`. */
  readonly streamBaseUrl: string;
  /** Origin of thumbnails; default `https://image.mux.com`. */
  readonly imageBaseUrl: string;
}

export const defaultMuxUrlHosts: MuxUrlHosts = {
  streamBaseUrl: 'https://stream.mux.com',
  imageBaseUrl: 'https://image.mux.com',
};

export interface MuxUrls {
  streaming(playbackId: string): string;
  thumbnail(playbackId: string): string;
  /** The `highest` static rendition. */
  mp4(playbackId: string, renditionName?: string): string;
  textTrackVtt(playbackId: string, trackId: string): string;
  /** Plain-text transcript; Mux serves it for generated tracks only. */
  textTrackTxt(playbackId: string, trackId: string): string;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function muxUrls(hosts: MuxUrlHosts = defaultMuxUrlHosts): MuxUrls {
  const stream = trimSlash(hosts.streamBaseUrl);
  const image = trimSlash(hosts.imageBaseUrl);
  const segment = encodeURIComponent;
  const textTrack = (playbackId: string, trackId: string, extension: 'vtt' | 'txt') =>
    `${stream}/${segment(playbackId)}/text/${segment(trackId)}.${extension}`;
  return {
    streaming: (playbackId) => `${stream}/${segment(playbackId)}.m3u8`,
    thumbnail: (playbackId) => `${image}/${segment(playbackId)}/thumbnail.jpg`,
    mp4: (playbackId, renditionName = 'highest.mp4') => `${stream}/${segment(playbackId)}/${segment(renditionName)}`,
    textTrackVtt: (playbackId, trackId) => textTrack(playbackId, trackId, 'vtt'),
    textTrackTxt: (playbackId, trackId) => textTrack(playbackId, trackId, 'txt'),
  };
}
