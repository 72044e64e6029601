/** Small real HTTP servers on 127.0.0.1 for the Mux suites: a webhook receiver, a file server, a fake extension. */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalServer {
  readonly url: string;
  close(): Promise<void>;
}

export async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ReceivedWebhook {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly type: string;
  readonly eventId: string;
  /** The status this receiver answered. */
  readonly status: number;
}

/** Records every POST; `respond` picks the status (default 200). */
export async function startWebhookReceiver(
  respond: (request: { body: string; headers: IncomingHttpHeaders; index: number }) => number | Promise<number> = () => 200,
): Promise<LocalServer & { readonly received: ReceivedWebhook[] }> {
  const received: ReceivedWebhook[] = [];
  const server = await listen(async (req, res, raw) => {
    const body = raw.toString('utf8');
    const status = await respond({ body, headers: req.headers, index: received.length });
    const parsed = JSON.parse(body) as { type: string; id: string };
    received.push({ headers: req.headers, body, type: parsed.type, eventId: parsed.id, status });
    res.writeHead(status).end();
  });
  return Object.assign(server, { received });
}

/** Serves `bytes` at `/video.mp4` and counts the downloads. */
export async function startFileServer(bytes: Buffer, contentType = 'video/mp4'): Promise<LocalServer & { readonly hits: string[] }> {
  const hits: string[] = [];
  const server = await listen((req, res) => {
    hits.push(req.url ?? '');
    if (req.url?.startsWith('/video.mp4')) {
      res.writeHead(200, { 'content-type': contentType, 'content-length': bytes.length }).end(bytes);
    } else {
      res.writeHead(403, { 'content-type': 'application/xml' }).end('<Error><Code>AccessDenied</Code></Error>');
    }
  });
  return Object.assign(server, { hits });
}

/** The MP4 head the emulator reads, built where its parser lives. */
export { fastStartMp4 as fakeMp4 } from '../../../local/mux-emulator/media.js';
