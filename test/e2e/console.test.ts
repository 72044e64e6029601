/**
 * The web console, driven in Debian's Chromium against the local stack: a user signs in, uploads, watches the
 * progress reach 100 % and the video become ready, and gets Mux Player for it; edits and deletes a video; a multipart
 * upload survives a page reload without re-sending finished parts; the admin view is for admins only, and applies a
 * pending migration (signed playback: signed-playback.test.ts). Every view is checked with axe-core at a desktop and a
 * phone width (no serious or critical violation) and photographed.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VideoJson } from '../../shared/videos/presenter.js';
import { fakeMp4 } from '../mux/support/servers.js';
import { eventually } from '../support/local-stack.js';
import { MiB, checkView, launchBrowser, missingBrowser, resultsDir, signIn, startConsoleStack, videoIdByTitle, viewports, type Browser, type ConsoleStack } from './support.js';

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

async function createVideo(stack: ConsoleStack, token: string, title: string): Promise<string> {
  const created = await fetch(`${stack.stack.url}/api/videos/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, filename: `${title}.mp4`, contentType: 'video/mp4', size: 1024 }),
  });
  expect(created.status).toBe(201);
  return ((await created.json()) as { video: VideoJson }).video.id;
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
      await page.goto(stack.stack.url);
      await page.getByLabel('Access token').waitFor();
      await checkView(page, 'console-sign-in');
      await signIn(page, stack.stack.url, aliceToken);
      await expect.poll(() => page.locator('#signed-in-as').textContent()).toContain('alice');

      await page.getByLabel('Video file').setInputFiles(join(files, 'beach-walk.mp4'));
      await expect.poll(() => page.getByLabel('Title').inputValue()).toBe('beach walk');
      await page.getByLabel('Generate captions').check();
      const singlePut = page.waitForRequest((request) => request.method() === 'PUT' && request.url().startsWith(stack.stack.urls.s3));
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      expect(partNumberOf(await singlePut)).toBeUndefined();
      await expectProgressComplete(page, '256.0 KiB');
      // Once it is done, the heading says so: not "Uploading …" any more.
      await expect.poll(() => page.locator('#upload-progress-label').textContent()).toBe('Uploaded beach-walk.mp4');

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
      await checkView(page, 'console-library');
      // The picture the docs show; refreshed on request only, so a test run leaves the tree clean.
      if (process.env.UPDATE_DOCS_SCREENSHOT) await copyFile(join(resultsDir, 'console-library-desktop.png'), join(process.cwd(), 'docs', 'console.png'));

      await card.getByRole('button', { name: 'Play beach walk' }).click();
      const player = card.locator('mux-player');
      await player.waitFor();
      // The emulator does not transcode, so playing frames is not checkable; the element, its upgrade and its URLs are.
      expect(await player.evaluate((element) => customElements.get('mux-player') === element.constructor && element.shadowRoot !== null)).toBe(true);
      expect(await player.getAttribute('src')).toBe(streamingUrl);
      expect(await player.getAttribute('data-playback-id')).toBe(playbackId);
      expect(await player.getAttribute('poster')).toBe(thumbnailUrl);
      expect(await player.getAttribute('metadata-video-id')).toBe(videoId);
      // The button now reads "Close player", and that is what a screen reader announces too.
      const close = card.getByRole('button', { name: 'Close player for beach walk' });
      expect(await close.textContent()).toBe('Close player');
      expect(await close.getAttribute('aria-expanded')).toBe('true');
      // The player is given the video as the API shows it now: the captions came after the card was last drawn.
      expect(new URL((await card.getByRole('link', { name: 'WebVTT' }).getAttribute('href')) ?? '').pathname).toBe(new URL(video.captions?.webvttUrl ?? '').pathname);
      await checkView(page, 'console-player');
      // Nothing is fetched from a CDN: not Google's Cast SDK (cast_sender.js) either.
      expect(browser.offMachineRequests).toEqual([]);
      await close.click();
      expect(await card.getByRole('button', { name: 'Play beach walk' }).getAttribute('aria-expanded')).toBe('false');
      await page.close();
    });

    it('edits a video’s title and description from its card', async () => {
      const videoId = await createVideo(stack, aliceToken, 'rough cut');
      const page = await browser.newPage();
      await signIn(page, stack.stack.url, aliceToken);
      await videoIdByTitle(page, 'rough cut');
      const card = page.locator(`#video-list > li[data-video-id="${videoId}"]`);
      await card.getByRole('button', { name: 'Edit rough cut' }).click();
      const form = card.getByRole('form', { name: 'Edit rough cut' });
      await form.getByLabel('Title').fill('  ');
      await form.getByRole('button', { name: 'Save' }).click();
      await expect.poll(() => form.getByRole('alert').textContent()).toBe('Give the video a title.');
      await form.getByLabel('Title').fill('final cut');
      await form.getByLabel('Description').fill('The one we ship.');
      await checkView(page, 'console-edit');
      await form.getByRole('button', { name: 'Save' }).click();

      await card.locator('h3', { hasText: 'final cut' }).waitFor();
      expect(await card.locator('.description').textContent()).toBe('The one we ship.');
      await expect.poll(() => page.locator('#library-status').textContent()).toBe('“final cut” was saved.');
      // Focus goes back to the card's Edit button, now named for the new title.
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Edit final cut');
      const { body } = await apiGet<{ video: VideoJson }>(stack, `/api/videos/${videoId}`, aliceToken);
      expect(body.video).toMatchObject({ title: 'final cut', description: 'The one we ship.' });
      expect(browser.pageErrors).toEqual([]);
      await page.close();
    });

    it('shows an admin whose each video is, and the owner nothing of the kind', async () => {
      const videoId = await createVideo(stack, aliceToken, 'for the archive');
      const admin = await browser.newPage();
      await signIn(admin, stack.stack.url, await stack.stack.tokens.mint('olivia', { admin: true }));
      await expect.poll(() => admin.locator('#library-heading').textContent()).toBe('All videos');
      await videoIdByTitle(admin, 'for the archive');
      const facts = admin.locator(`#video-list > li[data-video-id="${videoId}"] .facts`);
      expect(await facts.locator('dt').first().textContent()).toBe('Owner');
      expect(await facts.locator('dd').first().textContent()).toBe('alice');
      await admin.close();

      const owner = await browser.newPage();
      await signIn(owner, stack.stack.url, aliceToken);
      await videoIdByTitle(owner, 'for the archive');
      expect(await owner.locator(`#video-list > li[data-video-id="${videoId}"] .facts dt`, { hasText: 'Owner' }).count()).toBe(0);
      await owner.close();
    });

    it('deletes a video from its card once the user confirms, and keeps it when they do not', async () => {
      await createVideo(stack, aliceToken, 'outtake');
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
      expect(await page.getByLabel('Title').inputValue()).toBe('notes');
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      const alert = page.locator('#upload-error');
      await expect.poll(() => alert.textContent()).toMatch(/The upload did not go through: Content type "text\/plain" is not accepted/);
      await checkView(page, 'console-rejected-file');

      // The title the page filled in follows the file picked next; one the user typed stays.
      await page.getByLabel('Video file').setInputFiles(join(files, 'beach-walk.mp4'));
      expect(await page.getByLabel('Title').inputValue()).toBe('beach walk');
      await page.getByLabel('Title').fill('Sunday on the beach');
      await page.getByLabel('Video file').setInputFiles(join(files, 'notes.txt'));
      expect(await page.getByLabel('Title').inputValue()).toBe('Sunday on the beach');
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
      await checkView(page, 'console-admin-denied');
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
      await checkView(page, 'console-multipart-interrupted');

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
      await page.screenshot({ path: join(resultsDir, 'console-multipart-resumed-desktop.png'), fullPage: true });
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
      // Signing in on the admin view's address lands on the admin view.
      await signIn(page, `${stack.stack.url}/#/admin`, token);
      expect(await page.evaluate(() => location.hash)).toBe('#/admin');
      expect(await page.getByRole('link', { name: 'Admin' }).getAttribute('aria-current')).toBe('page');
      await page.locator('#admin-health [data-health]').waitFor();
      await page.locator('#admin-diagnostics dl, #admin-diagnostics table').first().waitFor();
      const pending = page.locator('#pending-count');
      await pending.waitFor();
      const pendingBefore = Number(await pending.getAttribute('data-pending'));
      expect(pendingBefore).toBeGreaterThan(0);
      // A section the legacy schema cannot answer says why, once.
      const diagnostics = (await page.locator('#admin-diagnostics').textContent()) ?? '';
      expect(diagnostics).toContain('Unavailable until migration 0002.');
      expect(diagnostics).not.toMatch(/unavailable: unavailable/i);
      await checkView(page, 'console-admin-pending');

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
      await page.locator('#admin-diagnostics table').first().waitFor();

      // On a phone the wide tables scroll sideways; each that does can take the keyboard's focus, to scroll it.
      await page.setViewportSize(viewports.mobile);
      const scrollers = await page.locator('.table-scroll').evaluateAll((regions) =>
        regions.filter((region) => region.scrollWidth > region.clientWidth).map((region) => ({ tabIndex: (region as HTMLElement).tabIndex, name: region.getAttribute('aria-label') })),
      );
      expect(scrollers.length).toBeGreaterThan(0);
      for (const scroller of scrollers) expect(scroller, JSON.stringify(scroller)).toMatchObject({ tabIndex: 0, name: expect.any(String) });
      await checkView(page, 'console-admin-applied');
      await page.close();
    });
  });
});
