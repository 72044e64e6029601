/**
 * Validation of a create request, as Mux answers it: 400 invalid_parameters with one message per problem. A valid
 * request becomes the {@link AssetPlan} the lifecycle follows.
 */
import { MuxHttpError } from './http.js';
import type { CreateAssetBody, InputJson } from './types.js';

/** What a valid create asks the lifecycle to do. */
export interface AssetPlan {
  readonly inputUrl: string;
  readonly subtitles: { language_code: string; name: string } | null;
  readonly renditions: readonly string[];
}

const staticResolutions = ['highest', 'audio-only', '2160p', '1440p', '1080p', '720p', '540p', '480p', '360p', '270p'];
const subtitleLanguages = ['en', 'es', 'it', 'pt', 'de', 'fr', 'pl', 'ru', 'nl', 'ca', 'tr', 'sv', 'uk', 'no', 'fi', 'sk', 'el', 'cs', 'hr', 'da', 'ro', 'bg', 'auto'];

/** Mux: "Arbitrary user-supplied metadata set for the asset. Max 255 characters." */
export const isPassthrough = (value: unknown): value is string => typeof value === 'string' && value.length <= 255;

export function validateCreate(body: CreateAssetBody): AssetPlan {
  const problems: string[] = [];
  const inputs = body.inputs ?? body.input;
  let inputUrl = '';
  let subtitles: AssetPlan['subtitles'] = null;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    problems.push('inputs is required and must contain at least one input');
  } else {
    const first = inputs[0] as InputJson;
    if (typeof first?.url !== 'string' || !/^https?:\/\//i.test(first.url) || !URL.canParse(first.url)) {
      problems.push('inputs[0].url must be a valid http or https URL');
    } else {
      inputUrl = first.url;
    }
    if (first?.generated_subtitles !== undefined) {
      const requested = first.generated_subtitles;
      const valid =
        Array.isArray(requested) &&
        requested.every(
          (entry: unknown) =>
            typeof entry === 'object' && entry !== null && subtitleLanguages.includes(String((entry as { language_code?: unknown }).language_code ?? 'en')),
        );
      if (!valid) problems.push(`inputs[0].generated_subtitles[].language_code must be one of ${subtitleLanguages.join(', ')}`);
      else if (requested.length > 0) {
        const entry = requested[0] as { language_code?: string; name?: string };
        subtitles = { language_code: entry.language_code ?? 'en', name: entry.name ?? 'English CC' };
      }
    }
  }
  const policies = body.playback_policies ?? body.playback_policy ?? [];
  if (!Array.isArray(policies) || policies.some((policy) => !['public', 'signed', 'drm'].includes(String(policy)))) {
    problems.push('playback_policies must be an array of public, signed or drm');
  }
  if (body.passthrough !== undefined && !isPassthrough(body.passthrough)) {
    problems.push('passthrough must be a string of at most 255 characters');
  }
  if (body.normalize_audio !== undefined && typeof body.normalize_audio !== 'boolean') problems.push('normalize_audio must be a boolean');
  if (body.video_quality !== undefined && !['basic', 'plus', 'premium'].includes(String(body.video_quality))) {
    problems.push('video_quality must be one of basic, plus, premium');
  }
  const renditions: string[] = [];
  if (body.static_renditions !== undefined) {
    const requested = body.static_renditions;
    if (!Array.isArray(requested)) {
      problems.push('static_renditions must be an array');
    } else {
      for (const entry of requested as unknown[]) {
        const resolution = String((entry as { resolution?: unknown } | null)?.resolution);
        if (staticResolutions.includes(resolution)) renditions.push(resolution);
        else problems.push(`static_renditions[].resolution must be one of ${staticResolutions.join(', ')}`);
      }
    }
    if (body.mp4_support !== undefined && body.mp4_support !== 'none') {
      problems.push('mp4_support cannot be combined with static_renditions; use static_renditions only');
    }
  }
  if (problems.length > 0) throw new MuxHttpError(400, 'invalid_parameters', problems);
  return { inputUrl, subtitles, renditions };
}
