import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assetBinder } from '../../shared/mux/binding.js';
import { MuxConfigurationError } from '../../shared/mux/config.js';

const key = 'a-binding-key-of-at-least-32-characters';
const binder = assetBinder(key);
const videoId = '5b0b7f3c-1f4e-4c9e-9d0c-7d5f1f3b2a10';

describe('asset passthrough tags', () => {
  it('tags a video id and attempt in a short passthrough that verifies for exactly them', () => {
    const passthrough = binder.passthrough(videoId, 3);
    expect(passthrough).toMatch(/^5b0b7f3c-1f4e-4c9e-9d0c-7d5f1f3b2a10\.3\.[A-Za-z0-9_-]{22}$/);
    expect(passthrough.length).toBeLessThanOrEqual(255);
    expect(binder.verify(passthrough)).toEqual({ ok: true, videoId, attempt: 3 });
    // Upper-case ids are tagged as PostgreSQL prints them, so one binding has one spelling.
    expect(binder.passthrough(videoId.toUpperCase(), 3)).toBe(passthrough);
  });

  it('refuses a tag made with another key, or moved to another video or attempt', () => {
    const other = assetBinder('another-binding-key-of-32-characters!').passthrough(videoId, 1);
    expect(binder.verify(other)).toEqual({ ok: false, reason: 'invalid_tag' });
    const tag = binder.passthrough(videoId, 1).split('.')[2];
    expect(binder.verify(`${randomUUID()}.1.${tag}`)).toEqual({ ok: false, reason: 'invalid_tag' });
    expect(binder.verify(`${videoId}.2.${tag}`)).toEqual({ ok: false, reason: 'invalid_tag' });
  });

  it('refuses every other spelling of a valid tag (truncated, padded, the unused low bits of its last character)', () => {
    const passthrough = binder.passthrough(videoId, 1);
    const tag = passthrough.split('.')[2] as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // Spellings that decode to the same 16 bytes.
    const siblings = [...alphabet]
      .map((last) => `${tag.slice(0, -1)}${last}`)
      .filter((spelling) => spelling !== tag && Buffer.from(spelling, 'base64url').equals(Buffer.from(tag, 'base64url')));
    expect(siblings.length).toBeGreaterThan(0);
    for (const variant of [...siblings, tag.slice(0, -1), `${tag}A`].map((spelling) => `${videoId}.1.${spelling}`).concat(`${videoId}.01.${tag}`)) {
      expect(binder.verify(variant).ok, variant).toBe(false);
    }
  });

  it('says why a passthrough that is not a tag does not bind', () => {
    expect(binder.verify(null)).toEqual({ ok: false, reason: 'no_passthrough' });
    expect(binder.verify('')).toEqual({ ok: false, reason: 'no_passthrough' });
    // What reelay wrote before tags, and what anyone else may write.
    expect(binder.verify(videoId)).toEqual({ ok: false, reason: 'untagged' });
    expect(binder.verify(`${videoId}.1`)).toEqual({ ok: false, reason: 'untagged' });
    expect(binder.verify(`${videoId}.1.${'A'.repeat(22)}`)).toEqual({ ok: false, reason: 'invalid_tag' });
  });

  it('without a key, verifies nothing and refuses to tag (no asset is ever created untagged)', () => {
    const keyless = assetBinder(null);
    expect(keyless.verify(binder.passthrough(videoId, 1))).toEqual({ ok: false, reason: 'no_key' });
    expect(() => keyless.passthrough(videoId, 1)).toThrow(MuxConfigurationError);
  });

  it('never verifies a random passthrough (fast-check)', () => {
    fc.assert(
      fc.property(fc.uuid().map((id) => id.toLowerCase()), fc.nat({ max: 1000 }), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), (id, attempt, noise) => {
        const forged = `${id}.${attempt}.${noise}`;
        fc.pre(forged !== binder.passthrough(id, attempt));
        expect(binder.verify(forged).ok).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
