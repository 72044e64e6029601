/**
 * What the Mux emulator serves in place of real media. It does not transcode: the duration and aspect ratio come from
 * the MP4 header when the input is an MP4 whose `moov` box sits in the bytes kept (a "fast start" file), and are
 * fixed plausible values otherwise; captions are canned text; the thumbnail is a placeholder image.
 */

export interface MediaFacts {
  /** Seconds. */
  readonly duration: number;
  /** e.g. `16:9`. */
  readonly aspectRatio: string;
  /** `mp4`, `webm`, `mpegts` or `unknown`, sniffed from the first bytes. */
  readonly container: string;
}

export const fallbackMediaFacts = { duration: 12.48, aspectRatio: '16:9' } as const;

function sniffContainer(bytes: Buffer): string {
  if (bytes.length >= 8 && bytes.toString('latin1', 4, 8) === 'ftyp') return 'mp4';
  if (bytes.length >= 4 && bytes.readUInt32BE(0) === 0x1a45dfa3) return 'webm';
  if (bytes.length >= 189 && bytes[0] === 0x47 && bytes[188] === 0x47) return 'mpegts';
  return 'unknown';
}

function greatestCommonDivisor(a: number, b: number): number {
  return b === 0 ? a : greatestCommonDivisor(b, a % b);
}

/** Duration from `mvhd` (timescale + duration, version 0 or 1). */
function mp4Duration(bytes: Buffer): number | null {
  const at = bytes.indexOf('mvhd', 0, 'latin1');
  if (at < 4) return null;
  const version = bytes[at + 4];
  const timescaleOffset = at + (version === 1 ? 24 : 16);
  if (timescaleOffset + (version === 1 ? 12 : 8) > bytes.length) return null;
  const timescale = bytes.readUInt32BE(timescaleOffset);
  const duration = version === 1 ? Number(bytes.readBigUInt64BE(timescaleOffset + 4)) : bytes.readUInt32BE(timescaleOffset + 4);
  return timescale > 0 && duration > 0 ? duration / timescale : null;
}

/** Width and height (16.16 fixed point) from the first `tkhd` that has them: the video track. */
function mp4AspectRatio(bytes: Buffer): string | null {
  let from = 0;
  for (;;) {
    const at = bytes.indexOf('tkhd', from, 'latin1');
    if (at < 4) return null;
    // The box body starts after the type; width and height are its last eight bytes.
    const sizeEnd = at + 4 + (bytes[at + 4] === 1 ? 96 : 84);
    if (sizeEnd > bytes.length) return null;
    const width = Math.round(bytes.readUInt32BE(sizeEnd - 8) / 65536);
    const height = Math.round(bytes.readUInt32BE(sizeEnd - 4) / 65536);
    if (width > 0 && height > 0) {
      const divisor = greatestCommonDivisor(width, height);
      return `${width / divisor}:${height / divisor}`;
    }
    from = at + 4;
  }
}

export function mediaFacts(bytes: Buffer): MediaFacts {
  const container = sniffContainer(bytes);
  if (container !== 'mp4') return { ...fallbackMediaFacts, container };
  return {
    duration: mp4Duration(bytes) ?? fallbackMediaFacts.duration,
    aspectRatio: mp4AspectRatio(bytes) ?? fallbackMediaFacts.aspectRatio,
    container,
  };
}

/**
 * A minimal MP4 head: `ftyp`, then `moov` with an `mvhd` (timescale 1000, the given duration) and a video `tkhd`
 * (width × height), which is all the emulator reads (mediaFacts). Padded with `mdat` bytes to `totalBytes`.
 */
export function fastStartMp4(durationMs: number, width: number, height: number, totalBytes = 64 * 1024): Buffer {
  const box = (type: string, body: Buffer) => {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(8 + body.length, 0);
    header.write(type, 4, 'latin1');
    return Buffer.concat([header, body]);
  };
  const ftyp = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));
  const mvhd = Buffer.alloc(100);
  mvhd.writeUInt32BE(1000, 12);
  mvhd.writeUInt32BE(durationMs, 16);
  const tkhd = Buffer.alloc(84);
  tkhd.writeUInt32BE(width * 65536, 76);
  tkhd.writeUInt32BE(height * 65536, 80);
  const moov = box('moov', Buffer.concat([box('mvhd', mvhd), box('trak', box('tkhd', tkhd))]));
  const head = Buffer.concat([ftyp, moov]);
  return Buffer.concat([head, box('mdat', Buffer.alloc(Math.max(0, totalBytes - head.length - 8), 7))]);
}

const captionLines = [
  'Welcome to reelay, running against the local Mux emulator.',
  'These captions are canned: the emulator does not transcribe speech.',
  'In production Mux generates them from the audio track.',
];

/** A WebVTT track of the canned lines, spread over the asset's duration. */
export function cannedCaptionsVtt(durationSeconds: number): string {
  const slice = Math.max(durationSeconds, 3) / captionLines.length;
  const stamp = (seconds: number) => {
    const ms = Math.round(seconds * 1000);
    const pad = (value: number, width = 2) => String(value).padStart(width, '0');
    return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(ms % 1000, 3)}`;
  };
  const cues = captionLines.map((line, index) => `${stamp(index * slice)} --> ${stamp((index + 1) * slice)}\n${line}`);
  return `WEBVTT\n\n${cues.join('\n\n')}\n`;
}

/** The plain-text transcript Mux serves as `.txt` for generated tracks. */
export function cannedTranscript(): string {
  return `${captionLines.join(' ')}\n`;
}

/** A master playlist pointing at one media playlist whose single "segment" is the MP4: enough for tools to parse. */
export function hlsMasterPlaylist(playbackId: string): string {
  return `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\n/${playbackId}/rendition.m3u8\n`;
}

export function hlsMediaPlaylist(playbackId: string, durationSeconds: number): string {
  const target = Math.ceil(durationSeconds);
  return `#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:${target}\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:${durationSeconds.toFixed(3)},\n/${playbackId}/source\n#EXT-X-ENDLIST\n`;
}

/** A 1×1 placeholder JPEG. */
export const placeholderThumbnail = Buffer.from(
  '/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxD/2Q==',
  'base64',
);
