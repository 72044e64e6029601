/**
 * WebVTT → SubRip (SRT). Mux serves text tracks only as WebVTT (`.vtt`) and, for generated tracks, plain text
 * (`.txt`); reelay offers SRT as well, converted here and stored next to the video.
 *
 * What changes: the header, NOTE, STYLE and REGION blocks are dropped; cue identifiers are replaced by SRT's 1-based
 * numbering; timings become `HH:MM:SS,mmm` (VTT allows `MM:SS.mmm`) and lose their cue settings (`align:start` …);
 * markup SRT players do not know (`<v Speaker>`, `<c.class>`, `<lang>`, `<ruby>`, inline timestamps) is removed while
 * `<b>`, `<i>` and `<u>` stay; the common character references are decoded. Cues left without text are skipped.
 */

const timestampPattern = /^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

/** `01:02:03.456` or `02:03.456` → milliseconds; null when it is not a WebVTT timestamp. */
export function parseVttTimestamp(text: string): number | null {
  const match = timestampPattern.exec(text.trim());
  if (!match) return null;
  const [, hours = '0', minutes = '0', seconds = '0', millis = '0'] = match;
  return ((Number(hours) * 60 + Number(minutes)) * 60 + Number(seconds)) * 1000 + Number(millis);
}

/** Milliseconds → `HH:MM:SS,mmm`. */
export function formatSrtTimestamp(totalMs: number): string {
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  const millis = totalMs % 1000;
  const totalSeconds = Math.floor(totalMs / 1000);
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  return `${pad(hours)}:${pad(minutes)}:${pad(totalSeconds % 60)},${pad(millis, 3)}`;
}

const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&nbsp;': ' ', '&lrm;': '\u200e', '&rlm;': '\u200f' };

function cueText(lines: readonly string[]): string {
  return lines
    .map((line) =>
      line
        // Keep only b/i/u tags (with their classes removed); drop every other tag, inline timestamps included.
        .replace(/<[^>]*>/g, (tag) => {
          const kept = /^<(\/?)([biu])(?:\.[^\s>]*)?>$/.exec(tag);
          return kept ? `<${kept[1]}${kept[2]}>` : '';
        })
        .replace(/&(?:amp|lt|gt|nbsp|lrm|rlm);/g, (entity) => entities[entity] ?? entity)
        .trimEnd(),
    )
    .filter((line) => line.trim() !== '')
    .join('\n');
}

interface Cue {
  readonly startMs: number;
  readonly endMs: number;
  readonly text: string;
}

function parseTiming(line: string): { startMs: number; endMs: number } | null {
  const arrow = line.indexOf('-->');
  if (arrow < 0) return null;
  const start = parseVttTimestamp(line.slice(0, arrow));
  // After the end time come optional cue settings, separated by whitespace.
  const end = parseVttTimestamp(line.slice(arrow + 3).trim().split(/\s+/)[0] ?? '');
  return start === null || end === null ? null : { startMs: start, endMs: end };
}

/** The cues of a WebVTT document, in order. Blocks that are not cues (header, NOTE, STYLE, REGION) are skipped. */
export function parseVttCues(vtt: string): Cue[] {
  const normalised = vtt.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  // Blocks are separated by blank lines (tolerating stray whitespace on them).
  const blocks = normalised.split(/\n(?:[ \t]*\n)+/);
  const cues: Cue[] = [];
  for (const block of blocks) {
    const lines = block.replace(/^\s*\n/, '').split('\n');
    const first = lines[0]?.trim() ?? '';
    if (first === '' || /^(WEBVTT|NOTE|STYLE|REGION)(\s|$)/.test(first)) continue;
    // A cue is an optional identifier line, then the timing line, then the payload.
    const timingIndex = parseTiming(lines[0] ?? '') ? 0 : parseTiming(lines[1] ?? '') ? 1 : -1;
    if (timingIndex < 0) continue;
    const timing = parseTiming(lines[timingIndex] ?? '');
    if (!timing) continue;
    const text = cueText(lines.slice(timingIndex + 1));
    if (text !== '') cues.push({ ...timing, text });
  }
  return cues;
}

/** Converts a WebVTT document to SRT. An input with no cues gives an empty string. */
export function vttToSrt(vtt: string): string {
  return parseVttCues(vtt)
    .map((cue, index) => `${index + 1}\n${formatSrtTimestamp(cue.startMs)} --> ${formatSrtTimestamp(cue.endMs)}\n${cue.text}\n`)
    .join('\n');
}
