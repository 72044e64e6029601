/**
 * The user's videos, newest first (the API's order), refreshed by polling while any of them is still on its way
 * to `ready`, and more slowly otherwise. Cards are updated in place, so an open player keeps playing.
 */
import { ApiError, type Api, type VideoJson } from './api.js';
import type { Session } from './auth.js';
import { formatBytes, formatDate, h, replaceChildren } from './dom.js';
import { captionsBlock, createPlayer } from './player.js';

const statusLabels: Record<VideoJson['status'], string> = {
  awaiting_upload: 'Awaiting upload',
  uploaded: 'Uploaded',
  processing: 'Processing',
  ready: 'Ready',
  errored: 'Errored',
  cancelled: 'Cancelled',
  deleting: 'Deleting',
};

const moving = new Set<VideoJson['status']>(['awaiting_upload', 'uploaded', 'processing', 'deleting']);
/** Polling slows down this much when nothing is changing. */
const idleSlowdown = 5;

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

export interface LibraryView {
  readonly element: HTMLElement;
  refresh(): Promise<void>;
  dispose(): void;
}

export function libraryView(options: { api: Api; session: Session; pollIntervalMs: number }): LibraryView {
  const { api, session } = options;
  const list = h('ul', { class: 'video-grid', id: 'video-list' });
  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'library-status', id: 'library-status' });
  const error = h('p', { role: 'alert', class: 'error' });
  const empty = h('p', { class: 'help', hidden: true }, 'No videos yet. Upload one above.');
  const more = h('button', { type: 'button', hidden: true }, 'Load older videos');
  const cards = new Map<string, { element: HTMLLIElement; video: VideoJson }>();
  let nextCursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  function detailsOf(video: VideoJson): HTMLElement {
    const facts: Array<[string, string]> = [
      ['Size', formatBytes(video.size)],
      ['Added', formatDate(video.createdAt)],
    ];
    if (video.mux?.durationSeconds) facts.push(['Duration', formatDuration(video.mux.durationSeconds)]);
    if (video.mux?.error) facts.push(['Mux error', video.mux.error]);
    return h('dl', { class: 'facts' }, ...facts.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
  }

  function thumbnailOf(video: VideoJson): HTMLElement {
    return video.status === 'ready' && video.mux?.thumbnailUrl
      ? h('img', { class: 'thumbnail', src: video.mux.thumbnailUrl, alt: '', loading: 'lazy', width: 320, height: 180 })
      : h('div', { class: `thumbnail placeholder status-${video.status}`, 'aria-hidden': 'true' }, statusLabels[video.status]);
  }

  async function togglePlayer(video: VideoJson, button: HTMLButtonElement, area: HTMLElement) {
    const open = button.getAttribute('aria-expanded') === 'true';
    if (open) {
      replaceChildren(area);
      area.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.textContent = 'Play';
      return;
    }
    button.disabled = true;
    try {
      replaceChildren(area, await createPlayer(video), captionsBlock(video));
      area.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      button.textContent = 'Close player';
    } catch (failure) {
      replaceChildren(area, h('p', { class: 'error', role: 'alert' }, `The player could not load: ${(failure as Error).message}`));
      area.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  function cardBody(video: VideoJson): Array<Node | false> {
    const playerArea = h('div', { class: 'player', id: `player-${video.id}`, hidden: true });
    const playable = video.status === 'ready' && Boolean(video.mux?.streamingUrl);
    const play = playable
      ? h('button', { type: 'button', class: 'primary', 'aria-expanded': 'false', 'aria-controls': playerArea.id, 'aria-label': `Play ${video.title}` }, 'Play')
      : null;
    play?.addEventListener('click', () => void togglePlayer(video, play, playerArea));
    const remove =
      video.status === 'deleting'
        ? null
        : h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${video.title}` }, 'Delete');
    remove?.addEventListener('click', () => void deleteVideo(video, remove));
    return [
      thumbnailOf(video),
      h('div', { class: 'card-body' },
        h('h3', {}, video.title),
        h('span', { class: `badge status-${video.status}`, 'data-status': video.status }, statusLabels[video.status]),
        video.description ? h('p', { class: 'description' }, video.description) : false,
        detailsOf(video),
        h('div', { class: 'card-actions' }, play ?? false, remove ?? false),
      ),
      playerArea,
    ];
  }

  /** A video shown as `deleting` goes from the page once the API no longer knows it (the deletion finished). */
  async function forgetFinishedDeletions() {
    for (const [id, { element, video }] of cards) {
      if (video.status !== 'deleting') continue;
      try {
        await api.getVideo(id);
      } catch (failure) {
        if (!(failure instanceof ApiError) || failure.status !== 404) throw failure;
        element.remove();
        cards.delete(id);
        status.textContent = `“${video.title}” was deleted.`;
      }
    }
    empty.hidden = cards.size > 0;
  }

  /** Asks first; then the card goes (204), or shows `deleting` until the deletion is finished (202). */
  async function deleteVideo(video: VideoJson, button: HTMLButtonElement) {
    if (!window.confirm(`Delete “${video.title}”? Its file and its Mux asset are deleted too; this cannot be undone.`)) return;
    button.disabled = true;
    try {
      const remaining = await api.deleteVideo(video.id);
      if (remaining === undefined) {
        cards.get(video.id)?.element.remove();
        cards.delete(video.id);
        empty.hidden = cards.size > 0;
        status.textContent = `“${video.title}” was deleted.`;
      } else {
        render([remaining], false);
        status.textContent = `“${video.title}” is being deleted.`;
      }
      error.textContent = '';
    } catch (failure) {
      button.disabled = false;
      error.textContent = `Could not delete “${video.title}”: ${failure instanceof ApiError ? failure.describe() : (failure as Error).message}`;
    }
  }

  function render(videos: readonly VideoJson[], append: boolean) {
    for (const video of videos) {
      const known = cards.get(video.id);
      if (known) {
        if (known.video.updatedAt === video.updatedAt && known.video.status === video.status) continue;
        if (known.video.status !== video.status) status.textContent = `“${video.title}” is now ${statusLabels[video.status].toLowerCase()}.`;
        const playerOpen = known.element.querySelector('.player:not([hidden])') !== null;
        // Rebuilding an open player would stop it; the next close/open picks up the new data.
        if (!playerOpen) replaceChildren(known.element, ...cardBody(video));
        known.element.dataset.status = video.status;
        known.video = video;
        continue;
      }
      const element = h('li', { class: 'video-card', 'data-video-id': video.id, 'data-status': video.status }, ...cardBody(video));
      cards.set(video.id, { element, video });
      if (append) list.append(element);
    }
    if (!append) {
      // Newest first: put this page's cards, in the API's order, before anything older already shown.
      const ids = new Set(videos.map((video) => video.id));
      const older = [...list.children].filter((child) => !ids.has((child as HTMLElement).dataset.videoId ?? ''));
      list.replaceChildren(...videos.map((video) => cards.get(video.id)?.element as HTMLLIElement), ...older);
    }
    empty.hidden = cards.size > 0;
  }

  function schedule() {
    if (disposed) return;
    clearTimeout(timer);
    const anyMoving = [...cards.values()].some(({ video }) => moving.has(video.status));
    timer = setTimeout(() => void refresh(), options.pollIntervalMs * (anyMoving && !document.hidden ? 1 : idleSlowdown));
  }

  async function refresh() {
    try {
      const page = await api.listVideos();
      if (disposed) return;
      error.textContent = '';
      // Keep the cursor of the furthest page loaded; a refresh only re-reads the first page.
      if (cards.size === 0) nextCursor = page.nextCursor;
      render(page.videos, false);
      more.hidden = nextCursor === null;
      await forgetFinishedDeletions();
    } catch (failure) {
      error.textContent = `Could not load the videos: ${failure instanceof ApiError ? failure.describe() : (failure as Error).message}`;
    } finally {
      schedule();
    }
  }

  more.addEventListener('click', async () => {
    if (!nextCursor) return;
    more.disabled = true;
    try {
      const page = await api.listVideos(nextCursor);
      nextCursor = page.nextCursor;
      render(page.videos, true);
      more.hidden = nextCursor === null;
    } catch (failure) {
      error.textContent = `Could not load more videos: ${failure instanceof ApiError ? failure.describe() : (failure as Error).message}`;
    } finally {
      more.disabled = false;
    }
  });

  const onVisibility = () => {
    if (!document.hidden) void refresh();
  };
  document.addEventListener('visibilitychange', onVisibility);

  const element = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'library-heading' },
    h('h2', { id: 'library-heading' }, session.isAdmin ? 'All videos' : 'Your videos'),
    status,
    error,
    empty,
    list,
    more,
  );
  void refresh();
  return {
    element,
    refresh,
    dispose() {
      disposed = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisibility);
    },
  };
}
