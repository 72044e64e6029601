/**
 * Signs webhook bodies exactly as Mux does: `mux-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>`.
 * Used by the emulator and by tests that need to forge, age or alter a delivery.
 */
import { createHmac } from 'node:crypto';

export function muxWebhookSignature(rawBody: string, secret: string, timestampSeconds: number): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${rawBody}`).digest('hex');
}

/** The `mux-signature` header value for `rawBody` signed at `timestampSeconds` (default: now). */
export function muxSignatureHeader(
  rawBody: string,
  secret: string,
  timestampSeconds: number = Math.floor(Date.now() / 1000),
): string {
  return `t=${timestampSeconds},v1=${muxWebhookSignature(rawBody, secret, timestampSeconds)}`;
}
