/**
 * Signed playback in the console, in Debian's Chromium against a local stack with MUX_PLAYBACK_POLICY=signed and
 * 2-second tokens: a card drawn with tokens that have since expired still plays, because Play reads the video afresh.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMp4 } from '../mux/support/servers.js';
import { eventually } from '../support/local-stack.js';
import { launchBrowser, missingBrowser, signIn, startConsoleStack, videoIdByTitle, type Browser, type ConsoleStack } from './support.js';

const missing = missingBrowser();
if (missing) {
  console.warn(`\n*** SKIPPED: the signed-playback console test did NOT run. ${missing}. ***\n`);
}
const describeInBrowser = missing ? describe.skip : describe;

/** The `exp` (seconds) of the `token` a signed URL carries. */
function tokenExpiry(url: string): number {
  const token = new URL(url).searchParams.get('token');
  if (!token) throw new Error(`${url} carries no token`);
  return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { exp: number }).exp;
}

describeInBrowser('the web console in Chromium, with signed playback', () => {
  let browser: Browser;
  let files: string;
  let stack: ConsoleStack;
  const ttlSeconds = 2;

  beforeAll(async () => {
    files = await mkdtemp(join(tmpdir(), 'reelay-e2e-files-'));
    await writeFile(join(files, 'beach-walk.mp4'), fakeMp4(5_000, 1280, 720, 256 * 1024));
    [browser, stack] = await Promise.all([
      launchBrowser(),
      startConsoleStack({ lambdaEnv: { MUX_PLAYBACK_POLICY: 'signed', PLAYBACK_TOKEN_TTL_SECONDS: String(ttlSeconds) } }),
    ]);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.dispose();
    await rm(files, { recursive: true, force: true });
  });

  it('plays a signed video with fresh tokens, after the ones its card was drawn with have expired', async () => {
    const page = await browser.newPage();
    await signIn(page, stack.stack.url, await stack.stack.tokens.mint('sam'));
    await page.getByLabel('Video file').setInputFiles(join(files, 'beach-walk.mp4'));
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    const videoId = await videoIdByTitle(page, 'beach walk');
    const card = page.locator(`#video-list > li[data-video-id="${videoId}"][data-status="ready"]`);
    await card.waitFor({ timeout: 60_000 });
    const thumbnail = card.locator('img.thumbnail');
    await expect.poll(() => thumbnail.evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0)).toBe(true);
    // Wait out the tokens the card was drawn with (refreshes do not redraw it: nothing it shows changed).
    const drawnExpiry = tokenExpiry((await thumbnail.getAttribute('src')) ?? '');
    await eventually(async () => (Date.now() > drawnExpiry * 1000 + 1_000 ? true : undefined), () => 'the card’s tokens never expired', 10_000);

    await card.getByRole('button', { name: 'Play beach walk' }).click();
    const player = card.locator('mux-player');
    await player.waitFor();
    const src = (await player.getAttribute('src')) ?? '';
    expect(tokenExpiry(src)).toBeGreaterThan(Date.now() / 1000);
    // The emulator checks the token as Mux does: the stream opens with it.
    expect((await fetch(src)).status).toBe(200);
    expect(tokenExpiry((await player.getAttribute('poster')) ?? '')).toBeGreaterThan(drawnExpiry);
    expect(browser.offMachineRequests).toEqual([]);
    await page.close();
  });
});
