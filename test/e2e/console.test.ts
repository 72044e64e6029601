/**
 * The web console, driven in Debian's Chromium against the local stack: a user signs in, uploads, watches the
 * progress reach 100 % and the video become ready, and gets Mux Player for it; a multipart upload survives a page
 * reload without re-sending finished parts; the admin view is for admins only, and applies a pending migration.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoJson } from '../../shared/videos/presenter.js';
import { fakeMp4 } from '../mux/support/servers.js';
import { eventually } from '../support/local-stack.js';
import { MiB, launchBrowser, missingBrowser, resultsDir, screenshot, signIn, startConsoleStack, type Browser, type ConsoleStack } from './support.js';

const missing = missingBrowser();
if (missing) {
  console.warn(`\n*** SKIPPED: the web console end-to-end tests did NOT run. ${missing}. ***\n`);
}
const describeInBrowser = missing ? describe.skip : describe;

const multipartThreshold = 10 * MiB;

async function apiGet<T>(stack: ConsoleStack, path: string, token: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.stack.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as T };
}

/** Part PUTs the page sends to S3, by part number, as the browser issued them. */
function partNumberOf(request: Request): number | undefined {
  if (request.method() !== 'PUT') return undefined;
  const partNumber = new URL(request.url()).searchParams.get('partNumber');
  return partNumber === null ? undefined : Number(partNumber);
}

/** The id of the library card titled `title`, once the library lists it. */
async function videoIdByTitle(page: Page, title: string): Promise<string> {
  const card = page.locator('#video-list > li', { has: page.locator('h3', { hasText: title }) });
  await card.waitFor();
  const id = await card.getAttribute('data-video-id');
  if (!id) throw new Error(`the card for "${title}" has no video id`);
  return id;
}

async function expectProgressComplete(page: Page, size: string): Promise<void> {
  await page.locator('.upload-progress[data-state="done"]').waitFor({ timeout: 60_000 });
  const bar = page.locator('#upload-progress');
  const [value, max] = await Promise.all([bar.evaluate((element: HTMLProgressElement) => element.value), bar.evaluate((element: HTMLProgressElement) => element.max)]);
  expect(value).toBe(max);
  await expect.poll(() => page.locator('#upload-progress-text').textContent()).toBe(`${size} of ${size} (100 %)`);
}

describeInBrowser('the web console in Chromium', () => {
  let browser: Browser;
  let files: string;

  beforeAll(async () => {
    files = await mkdtemp(join(tmpdir(), 'reelay-e2e-files-'));
    // A "fast start" MP4 head the Mux emulator reads (5 s, 1280×720), padded to the size wanted.
    await writeFile(join(files, 'beach-walk.mp4'), fakeMp4(5_000, 1280, 720, 256 * 1024));
    await writeFile(join(files, 'long-take.mp4'), fakeMp4(60_000, 1920, 1080, 20 * MiB));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await rm(files, { recursive: true, force: true });
  });

  describe('as a user, on the latest schema', () => {
    let stack: ConsoleStack;
    let aliceToken: string;

    beforeAll(async () => {
      stack = await startConsoleStack({ multipartThresholdBytes: multipartThreshold });
      aliceToken = await stack.stack.tokens.mint('alice');
    });

    afterAll(async () => {
      await stack?.dispose();
    });

    it('signs in, uploads a small video with progress to 100 %, sees it become ready and plays it in Mux Player', async () => {
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toContain('alice');

      await page.getByLabel('Video file').setInputFiles(join(files, 'beach-walk.mp4'));
      await expect.poll(() => page.getByLabel('Title').inputValue()).toBe('beach walk');
      await page.getByLabel('Generate captions').check();
      const singlePut = page.waitForRequest((request) => request.method() === 'PUT' && request.url().startsWith(stack.stack.urls.s3));
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      expect(partNumberOf(await singlePut)).toBeUndefined();
      await expectProgressComplete(page, '256.0 KiB');

      const videoId = await videoIdByTitle(page, 'beach walk');
      const card = page.locator(`#video-list > li[data-video-id="${videoId}"]`);
      // Polling moves the card along on its own: no reload, no click.
      await page.locator(`#video-list > li[data-video-id="${videoId}"][data-status="ready"]`).waitFor({ timeout: 60_000 });
      await expect.poll(() => page.locator('#library-status').textContent()).toContain('is now ready');

      const video = await eventually(async () => {
        const { body } = await apiGet<{ video: VideoJson }>(stack, `/api/videos/${videoId}`, aliceToken);
        return body.video.captions?.webvttUrl ? body.video : undefined;
      }, () => 'the generated captions never reached the API');
      const { playbackId, streamingUrl, thumbnailUrl } = video.mux ?? {};
      expect(playbackId).toBeTruthy();
      expect(streamingUrl).toContain(playbackId);
      await expect.poll(() => card.locator('img.thumbnail').getAttribute('src')).toBe(thumbnailUrl);
      expect(await card.locator('img.thumbnail').evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth > 0)).toBe(true);
      expect(browser.pageErrors).toEqual([]);
      await screenshot(page, 'console-library');
      // The picture the docs show; refreshed on request only, so a test run leaves the tree clean.
      if (process.env.UPDATE_DOCS_SCREENSHOT) await copyFile(join(resultsDir, 'console-library.png'), join(process.cwd(), 'docs', 'console.png'));

      await card.getByRole('button', { name: 'Play beach walk' }).click();
      const player = card.locator('mux-player');
      await player.waitFor();
      // The emulator does not transcode, so playing frames is not checkable; the element, its upgrade and its URLs are.
      expect(await player.evaluate((element) => customElements.get('mux-player') === element.constructor && element.shadowRoot !== null)).toBe(true);
      expect(await player.getAttribute('src')).toBe(streamingUrl);
      expect(await player.getAttribute('data-playback-id')).toBe(playbackId);
      expect(await player.getAttribute('poster')).toBe(thumbnailUrl);
      expect(await player.getAttribute('metadata-video-id')).toBe(videoId);
      expect(await card.getByRole('button', { name: 'Play beach walk' }).getAttribute('aria-expanded')).toBe('true');
      expect(await card.getByRole('link', { name: 'WebVTT' }).getAttribute('href')).toBe(video.captions?.webvttUrl);
      await screenshot(page, 'console-player');
      await page.close();
    });

    it('deletes a video from its card once the user confirms, and keeps it when they do not', async () => {
      const created = await fetch(`${stack.stack.url}/api/videos/upload`, {
        method: 'POST',
        headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'outtake', filename: 'outtake.mp4', contentType: 'video/mp4', size: 1024 }),
      });
      expect(created.status).toBe(201);
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      const videoId = await videoIdByTitle(page, 'outtake');
      const card = page.locator(`#video-list > li[data-video-id="${videoId}"]`);

      page.once('dialog', (dialog) => void dialog.dismiss());
      await card.getByRole('button', { name: 'Delete outtake' }).click();
      expect((await apiGet(stack, `/api/videos/${videoId}`, aliceToken)).status).toBe(200);

      page.once('dialog', (dialog) => void dialog.accept());
      await card.getByRole('button', { name: 'Delete outtake' }).click();
      await card.waitFor({ state: 'detached' });
      await expect.poll(() => page.locator('#library-status').textContent()).toContain('“outtake” was deleted.');
      expect((await apiGet(stack, `/api/videos/${videoId}`, aliceToken)).status).toBe(404);
      expect(browser.pageErrors).toEqual([]);
      await page.close();
    });

    it('tells the user why a file is refused, in the API’s words', async () => {
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      await writeFile(join(files, 'notes.txt'), 'not a video');
      await page.getByLabel('Video file').setInputFiles(join(files, 'notes.txt'));
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      const alert = page.locator('#upload-error');
      await expect.poll(() => alert.textContent()).toMatch(/The upload did not go through: Content type "text\/plain" is not accepted/);
      await screenshot(page, 'console-rejected-file');
      await page.close();
    });

    it('does not show the admin view to a user outside the admin group, and the API refuses them too', async () => {
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
      await page.goto(`${stack.stack.url}/#/admin`);
      await page.locator('#admin-denied').waitFor();
      expect(await page.locator('#admin-health, #apply-migrations').count()).toBe(0);
      expect((await apiGet(stack, '/api/debug/video-diagnostics', aliceToken)).status).toBe(403);
      await screenshot(page, 'console-admin-denied');
      await page.close();
    });

    it('resumes a multipart upload after a reload, sending only the parts S3 does not have', async () => {
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      const sentBeforeReload: number[] = [];
      const finishedBeforeReload: number[] = [];
      // Parts 1 and 2 go through; every try of part 3 fails in the browser, before reaching S3, as on a connection
      // that died. The page is reloaded while it is still retrying.
      await page.route(`${stack.stack.urls.s3}/**`, async (route) => {
        const partNumber = partNumberOf(route.request());
        if (partNumber !== undefined) sentBeforeReload.push(partNumber);
        if (partNumber === 3) await route.abort('connectionreset');
        else await route.continue();
      });
      page.on('requestfinished', (request) => {
        const partNumber = partNumberOf(request);
        if (partNumber !== undefined) finishedBeforeReload.push(partNumber);
      });

      await page.getByLabel('Video file').setInputFiles(join(files, 'long-take.mp4'));
      await page.getByLabel('Title').fill('long take');
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await eventually(
        async () => (finishedBeforeReload.length === 2 && sentBeforeReload.includes(3) ? true : undefined),
        () => `parts sent ${sentBeforeReload}, finished ${finishedBeforeReload}`,
        60_000,
      );
      expect(finishedBeforeReload.sort()).toEqual([1, 2]);
      const videoId = await videoIdByTitle(page, 'long take');
      expect(await page.locator(`.pending-uploads li[data-video-id="${videoId}"]`).count()).toBe(1);
      const partial = await page.locator('#upload-progress').evaluate((element: HTMLProgressElement) => element.value / element.max);
      expect(partial).toBeGreaterThan(0.7);
      expect(partial).toBeLessThan(1);
      await screenshot(page, 'console-multipart-interrupted');

      page.removeAllListeners('requestfinished');
      await page.reload();
      await page.unrouteAll({ behavior: 'wait' });
      await page.locator('#signed-in-as').waitFor();
      await page.locator(`.pending-uploads li[data-video-id="${videoId}"]`).waitFor();
      const sentAfterReload: number[] = [];
      page.on('request', (request) => {
        const partNumber = partNumberOf(request);
        if (partNumber !== undefined) sentAfterReload.push(partNumber);
      });

      await page.getByLabel('Video file').setInputFiles(join(files, 'long-take.mp4'));
      await page.getByRole('button', { name: 'Resume upload' }).click();
      await expectProgressComplete(page, '20.0 MiB');
      expect(sentAfterReload).toEqual([3]);
      expect(await page.locator('.pending-uploads li').count()).toBe(0);
      await page.locator(`#video-list > li[data-video-id="${videoId}"][data-status="ready"]`).waitFor({ timeout: 60_000 });
      const { body } = await apiGet<{ video: VideoJson }>(stack, `/api/videos/${videoId}`, aliceToken);
      expect(body.video).toMatchObject({ status: 'ready', size: 20 * MiB, title: 'long take' });
      await screenshot(page, 'console-multipart-resumed');
      await page.close();
    });
  });

  describe('as an admin, on the legacy schema', () => {
    let stack: ConsoleStack;

    beforeAll(async () => {
      stack = await startConsoleStack({ schema: 'legacy' });
    });

    afterAll(async () => {
      await stack?.dispose();
    });

    it('applies the pending migrations from the page and shows the result', async () => {
      const token = await stack.stack.tokens.mint('olivia', { admin: true });
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, token);
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.locator('#admin-health [data-health]').waitFor();
      await page.locator('#admin-diagnostics dl, #admin-diagnostics table').first().waitFor();
      const pending = page.locator('#pending-count');
      await pending.waitFor();
      const pendingBefore = Number(await pending.getAttribute('data-pending'));
      expect(pendingBefore).toBeGreaterThan(0);
      await screenshot(page, 'console-admin-pending');

      const apply = page.getByRole('button', { name: 'Apply pending migrations' });
      expect(await apply.isEnabled()).toBe(true);
      await apply.click();
      const result = page.locator('#migration-result .success');
      await result.waitFor({ timeout: 60_000 });
      expect(Number(await result.getAttribute('data-applied'))).toBe(pendingBefore);
      await expect.poll(() => result.textContent()).toMatch(new RegExp(`^Ran ${pendingBefore} migrations in \\d+ ms\\.$`));
      await expect.poll(() => page.locator('#pending-count').getAttribute('data-pending')).toBe('0');
      expect(await apply.isDisabled()).toBe(true);

      const health = await apiGet<{ schema: { pending: unknown[] | null } }>(stack, '/api/database/health/details', token);
      expect(health.body.schema.pending).toEqual([]);
      // The public route says "ok" and nothing about the schema.
      expect((await apiGet(stack, '/api/database/health', token)).body).toEqual({ status: 'ok' });
      await screenshot(page, 'console-admin-applied');
      await page.close();
    });
  });
});
