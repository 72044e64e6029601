/**
 * The user's videos, newest first (the API's order), refreshed by polling while any of them is still on its way
 * to `ready`, and more slowly otherwise. Cards are updated in place, so an open player keeps playing.
 */
import { ApiError, type Api, type VideoJson } from './api.js';
import type { Session } from './auth.js';
import { focusOn, formatBytes, formatDate, h, replaceChildren } from './dom.js';
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

/**
 * What a card shows of a video, to tell whether it must be redrawn. Not the URLs: a signed video's tokens and the
 * caption files' presigned links are new on every read. Not only `updatedAt`: an edit does not move it.
 */
function shownState(video: VideoJson): string {
  const { mux, captions } = video;
  return JSON.stringify([
    video.status,
    video.updatedAt,
    video.title,
    video.description,
    mux?.thumbnailUrl != null,
    mux?.streamingUrl != null,
    mux?.durationSeconds,
    mux?.error,
    captions?.webvttUrl != null,
    captions?.srtUrl != null,
    captions?.transcriptText != null,
  ]);
}

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
      // An admin's list holds everyone's videos.
      ...(session.isAdmin ? [['Owner', video.ownerId] as [string, string]] : []),
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

  /**
   * Opens the player with the video as the API shows it now, not as the card was drawn: a signed video's tokens
   * expire (the card may be older than they are), and captions can arrive after the card last changed.
   */
  async function togglePlayer(video: VideoJson, button: HTMLButtonElement, area: HTMLElement) {
    const open = button.getAttribute('aria-expanded') === 'true';
    if (open) {
      replaceChildren(area);
      area.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.setAttribute('aria-label', `Play ${video.title}`);
      button.textContent = 'Play';
      return;
    }
    button.disabled = true;
    try {
      const { video: current } = await api.getVideo(video.id);
      replaceChildren(area, await createPlayer(current), captionsBlock(current));
      area.hidden = false;
      button.setAttribute('aria-expanded', 'true');
      // The visible label and the accessible name say the same thing (WCAG 2.5.3, label in name).
      button.setAttribute('aria-label', `Close player for ${video.title}`);
      button.textContent = 'Close player';
    } catch (failure) {
      const message = failure instanceof ApiError ? failure.describe() : (failure as Error).message;
      replaceChildren(area, h('p', { class: 'error', role: 'alert' }, `The player could not load: ${message}`));
      area.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  /** Title and description edited in place (`PATCH /api/videos/{id}`); the card shows the API's answer. */
  function openEditor(video: VideoJson, card: HTMLElement) {
    const body = card.querySelector<HTMLElement>('.card-body');
    if (!body) return;
    const prefix = `edit-${video.id}`;
    const title = h('input', { type: 'text', id: `${prefix}-title`, required: true, maxlength: 200, value: video.title, autocomplete: 'off' });
    const description = h('textarea', { id: `${prefix}-description`, rows: 3, maxlength: 5000 }, video.description ?? '');
    const problem = h('p', { class: 'error', role: 'alert', id: `${prefix}-error` });
    const save = h('button', { type: 'submit', class: 'primary' }, 'Save');
    const cancel = h('button', { type: 'button' }, 'Cancel');
    const form = h(
      'form',
      { class: 'edit-form', 'aria-label': `Edit ${video.title}`, novalidate: true },
      h('div', { class: 'field' }, h('label', { for: title.id }, 'Title'), title),
      h('div', { class: 'field' }, h('label', { for: description.id }, 'Description ', h('span', { class: 'optional' }, '(optional)')), description),
      h('div', { class: 'actions' }, save, cancel),
      problem,
    );
    const closeWith = (shown: VideoJson) => {
      rebuild(shown, true);
      cards.get(shown.id)?.element.querySelector<HTMLButtonElement>('button.edit')?.focus();
    };
    cancel.addEventListener('click', () => closeWith(cards.get(video.id)?.video ?? video));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (!title.value.trim()) {
        problem.textContent = 'Give the video a title.';
        focusOn(title);
        return;
      }
      save.disabled = true;
      try {
        const { video: edited } = await api.editVideo(video.id, { title: title.value.trim(), description: description.value.trim() || null });
        status.textContent = `“${edited.title}” was saved.`;
        closeWith(edited);
      } catch (failure) {
        save.disabled = false;
        problem.textContent = `Could not save: ${failure instanceof ApiError ? failure.describe() : (failure as Error).message}`;
        focusOn(problem);
      }
    });
    replaceChildren(body, form);
    title.focus();
  }

  function cardBody(video: VideoJson): Array<Node | false> {
    const playerArea = h('div', { class: 'player', id: `player-${video.id}`, hidden: true });
    const playable = video.status === 'ready' && Boolean(video.mux?.streamingUrl);
    const play = playable
      ? h('button', { type: 'button', class: 'primary', 'aria-expanded': 'false', 'aria-controls': playerArea.id, 'aria-label': `Play ${video.title}` }, 'Play')
      : null;
    play?.addEventListener('click', () => void togglePlayer(video, play, playerArea));
    // A video being deleted can be neither edited (the API answers 409) nor deleted again.
    const changeable = video.status !== 'deleting';
    const edit = changeable ? h('button', { type: 'button', class: 'edit', 'aria-label': `Edit ${video.title}` }, 'Edit') : null;
    edit?.addEventListener('click', (event) => openEditor(video, (event.currentTarget as HTMLElement).closest('li') as HTMLElement));
    const remove = changeable ? h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${video.title}` }, 'Delete') : null;
    remove?.addEventListener('click', () => void deleteVideo(video, remove));
    return [
      thumbnailOf(video),
      h('div', { class: 'card-body' },
        h('h3', {}, video.title),
        h('span', { class: `badge status-${video.status}`, 'data-status': video.status }, statusLabels[video.status]),
        video.description ? h('p', { class: 'description' }, video.description) : false,
        detailsOf(video),
        h('div', { class: 'card-actions' }, play ?? false, edit ?? false, remove ?? false),
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
        rebuild(remaining, true);
        status.textContent = `“${video.title}” is being deleted.`;
      }
      error.textContent = '';
    } catch (failure) {
      button.disabled = false;
      error.textContent = `Could not delete “${video.title}”: ${failure instanceof ApiError ? failure.describe() : (failure as Error).message}`;
    }
  }

  /** Rebuilds a card from `video`, unless a player or an editor is open in it and `force` is not given. */
  function rebuild(video: VideoJson, force = false) {
    const known = cards.get(video.id);
    if (!known) return;
    const busy = known.element.querySelector('.player:not([hidden]), .edit-form') !== null;
    // Rebuilding an open player would stop it, and an open editor would lose what is typed; the next refresh after
    // they close picks up the new data.
    if (busy && !force) return;
    replaceChildren(known.element, ...cardBody(video));
    known.element.dataset.status = video.status;
    known.video = video;
  }

  function render(videos: readonly VideoJson[], append: boolean) {
    for (const video of videos) {
      const known = cards.get(video.id);
      if (known) {
        if (shownState(known.video) === shownState(video)) continue;
        if (known.video.status !== video.status) status.textContent = `“${video.title}” is now ${statusLabels[video.status].toLowerCase()}.`;
        rebuild(video);
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
