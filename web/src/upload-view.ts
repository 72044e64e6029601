/**
 * The upload panel: pick or drop a file, describe it, watch it go. A file that matches an unfinished multipart
 * upload (same name, size and modification time) resumes it instead of starting over.
 */
import { ApiError, type Api } from './api.js';
import type { Session } from './auth.js';
import { focusOn, formatBytes, h, replaceChildren } from './dom.js';
import { pendingUploads, type PendingUpload } from './resume-store.js';
import { Upload } from './upload.js';

export interface UploadViewOptions {
  readonly api: Api;
  readonly session: Session;
  readonly concurrency: number;
  /** After an upload is accepted (or cancelled), so the library shows it at once. */
  readonly onChange: () => void;
}

function titleFromFileName(name: string): string {
  return name.replace(/\.[^.]+$/, '').replace(/[_-]+/g, ' ').trim() || name;
}

function percent(sent: number, total: number): number {
  return total === 0 ? 100 : Math.floor((sent / total) * 100);
}

export function uploadView(options: UploadViewOptions): HTMLElement {
  const { api, session } = options;
  let selected: File | null = null;
  let active: Upload | null = null;
  /** The title the page last filled in from a file name: replaced when another file is picked, unlike one typed. */
  let filledTitle = '';

  const fileInput = h('input', { type: 'file', id: 'upload-file', name: 'file', accept: 'video/*', 'aria-describedby': 'upload-file-help' });
  const fileHelp = h('p', { id: 'upload-file-help', class: 'help' }, 'Choose a video, or drop one on this box.');
  const titleInput = h('input', { type: 'text', id: 'upload-title', name: 'title', required: true, maxlength: 200, autocomplete: 'off' });
  const descriptionInput = h('textarea', { id: 'upload-description', name: 'description', rows: 2, maxlength: 2000 });
  const option = (name: string, label: string) =>
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name }), ` ${label}`);
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload');
  const formError = h('p', { class: 'error', role: 'alert', id: 'upload-error' });

  const progressBar = h('progress', { id: 'upload-progress', max: 1, value: 0, 'aria-labelledby': 'upload-progress-label', 'aria-describedby': 'upload-progress-text' });
  const progressLabel = h('p', { id: 'upload-progress-label', class: 'progress-label' });
  const progressText = h('p', { id: 'upload-progress-text', class: 'progress-text' });
  const phase = h('p', { id: 'upload-phase', role: 'status', 'aria-live': 'polite' });
  const cancelButton = h('button', { type: 'button', class: 'danger' }, 'Cancel upload');
  const progressPanel = h('div', { class: 'upload-progress', hidden: true }, progressLabel, progressBar, progressText, phase, cancelButton);
  const pendingList = h('div', { class: 'pending-uploads' });

  const dropZone = h(
    'div',
    { class: 'drop-zone' },
    h('label', { for: 'upload-file' }, 'Video file'),
    fileInput,
    fileHelp,
  );

  const form = h(
    'form',
    { id: 'upload-form', novalidate: true },
    dropZone,
    h('div', { class: 'field' }, h('label', { for: 'upload-title' }, 'Title'), titleInput),
    h('div', { class: 'field' }, h('label', { for: 'upload-description' }, 'Description ', h('span', { class: 'optional' }, '(optional)')), descriptionInput),
    h('fieldset', {}, h('legend', {}, 'Processing by Mux'), option('captions', 'Generate captions'), option('normalizeAudio', 'Normalise audio'), option('mp4', 'Downloadable MP4')),
    h('div', { class: 'actions' }, submit),
    formError,
  );

  function matchingPending(file: File): PendingUpload | undefined {
    return pendingUploads.matching(session.sub, file);
  }

  function select(file: File | null) {
    selected = file;
    formError.textContent = '';
    if (!file) {
      fileHelp.textContent = 'Choose a video, or drop one on this box.';
      submit.textContent = 'Upload';
      return;
    }
    const pending = matchingPending(file);
    fileHelp.textContent = `${file.name}, ${formatBytes(file.size)}${pending ? ' — this file has an unfinished upload; it will resume where it stopped.' : ''}`;
    submit.textContent = pending ? 'Resume upload' : 'Upload';
    const typed = titleInput.value.trim() !== '' && titleInput.value !== filledTitle;
    if (pending) titleInput.value = pending.title;
    else if (!typed) titleInput.value = titleFromFileName(file.name);
    if (!typed || pending) filledTitle = titleInput.value;
  }

  function renderPending() {
    const entries = pendingUploads.list(session.sub);
    if (entries.length === 0) return replaceChildren(pendingList);
    replaceChildren(
      pendingList,
      h('h3', {}, 'Unfinished uploads'),
      h('p', { class: 'help' }, 'Select the same file again to resume; the parts already sent are skipped.'),
      h(
        'ul',
        {},
        ...entries.map((entry) =>
          h(
            'li',
            { 'data-video-id': entry.videoId },
            h('span', {}, `${entry.title} — ${entry.fileName}, ${formatBytes(entry.fileSize)}`),
            ' ',
            h('button', {
              type: 'button',
              class: 'link',
              'aria-label': `Discard the unfinished upload of ${entry.fileName}`,
              onclick: () => {
                pendingUploads.remove(entry.videoId);
                renderPending();
                api.cancelUpload(entry.videoId).then(options.onChange, () => options.onChange());
              },
            }, 'Discard'),
          ),
        ),
      ),
    );
  }

  function setBusy(busy: boolean) {
    for (const control of form.querySelectorAll<HTMLInputElement | HTMLButtonElement | HTMLTextAreaElement>('input, button, textarea')) control.disabled = busy;
    dropZone.classList.toggle('disabled', busy);
  }

  let lastAnnounced = -1;
  const listener = {
    progress(sent: number, total: number) {
      progressBar.max = Math.max(total, 1);
      progressBar.value = sent;
      const pct = percent(sent, total);
      progressText.textContent = `${formatBytes(sent)} of ${formatBytes(total)} (${pct} %)`;
      progressBar.setAttribute('aria-valuetext', `${pct} percent`);
      // Screen readers hear every quarter, not every progress event.
      const quarter = Math.floor(pct / 25);
      if (quarter > lastAnnounced) {
        lastAnnounced = quarter;
        if (pct > 0 && pct < 100) phase.textContent = `${pct} % uploaded.`;
      }
    },
    phase(message: string) {
      phase.textContent = message;
    },
    created() {
      renderPending();
      options.onChange();
    },
  };

  async function run(file: File) {
    const pending = matchingPending(file);
    const upload = new Upload({ api, file, owner: session.sub, concurrency: options.concurrency, listener });
    active = upload;
    lastAnnounced = -1;
    progressPanel.hidden = false;
    progressPanel.dataset.state = 'uploading';
    cancelButton.hidden = false;
    cancelButton.disabled = false;
    progressLabel.textContent = `${pending ? 'Resuming' : 'Uploading'} ${file.name}`;
    listener.progress(0, file.size);
    setBusy(true);
    try {
      const outcome = pending
        ? await upload.resume(pending)
        : await upload.start({
            title: titleInput.value.trim(),
            ...(descriptionInput.value.trim() && { description: descriptionInput.value.trim() }),
            options: Object.fromEntries(['captions', 'normalizeAudio', 'mp4'].map((name) => [name, form.querySelector<HTMLInputElement>(`input[name="${name}"]`)?.checked ?? false])),
          });
      progressPanel.dataset.state = outcome.kind;
      progressLabel.textContent = outcome.kind === 'done' ? `Uploaded ${file.name}` : `Upload of ${file.name} cancelled`;
      phase.textContent = outcome.kind === 'done' ? `Upload complete. ${file.name} is in your library and will be ready after processing.` : 'Upload cancelled.';
      if (outcome.kind === 'done') {
        form.reset();
        select(null);
      }
    } catch (error) {
      progressPanel.dataset.state = 'failed';
      progressLabel.textContent = `Upload of ${file.name} failed`;
      const message = error instanceof ApiError ? error.describe() : (error as Error).message;
      phase.textContent = '';
      formError.textContent = `The upload did not go through: ${message}`;
      if (upload.videoId === null) progressPanel.hidden = true;
      focusOn(formError);
    } finally {
      active = null;
      cancelButton.hidden = true;
      setBusy(false);
      renderPending();
      options.onChange();
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    formError.textContent = '';
    if (!selected) {
      formError.textContent = 'Choose a video file first.';
      focusOn(fileInput);
      return;
    }
    if (!titleInput.value.trim()) {
      formError.textContent = 'Give the video a title.';
      focusOn(titleInput);
      return;
    }
    void run(selected);
  });
  fileInput.addEventListener('change', () => select(fileInput.files?.[0] ?? null));
  cancelButton.addEventListener('click', () => {
    cancelButton.disabled = true;
    phase.textContent = 'Cancelling…';
    active?.cancel().catch((error: unknown) => {
      formError.textContent = `Cancelling failed: ${error instanceof ApiError ? error.describe() : (error as Error).message}`;
    });
  });
  for (const type of ['dragenter', 'dragover']) {
    dropZone.addEventListener(type, (event) => {
      event.preventDefault();
      if (!active) dropZone.classList.add('dragging');
    });
  }
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    dropZone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (!file || active) return;
    const transfer = new DataTransfer();
    transfer.items.add(file);
    fileInput.files = transfer.files;
    select(file);
  });

  renderPending();
  return h('section', { class: 'panel', 'aria-labelledby': 'upload-heading' }, h('h2', { id: 'upload-heading' }, 'Upload a video'), form, progressPanel, pendingList);
}
