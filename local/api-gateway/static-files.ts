/** The web console's files, served at `/`. Nothing outside `root` is ever read: no `..`, no symlink escapes. */
import { realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.vtt': 'text/vtt; charset=utf-8',
  '.woff2': 'font/woff2',
};

export interface StaticFile {
  readonly path: string;
  readonly contentType: string;
  readonly size: number;
}

function decodedSegments(urlPath: string): string[] | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const segments = decoded.split(/[/\\]/).filter((segment) => segment.length > 0);
  return segments.some((segment) => segment === '..') ? undefined : segments;
}

async function existingFile(path: string): Promise<{ path: string; size: number; directory: boolean } | undefined> {
  try {
    const real = await realpath(path);
    const info = await stat(real);
    return { path: real, size: info.size, directory: info.isDirectory() };
  } catch {
    return undefined;
  }
}

/** The file for a URL path (`/` and directories give their index.html), or undefined when there is none to serve. */
export async function resolveStaticFile(root: string, urlPath: string): Promise<StaticFile | undefined> {
  const segments = decodedSegments(urlPath);
  const realRoot = await existingFile(root);
  if (!segments || !realRoot?.directory) return undefined;
  let found = await existingFile(join(realRoot.path, ...segments));
  if (found?.directory) found = await existingFile(join(found.path, 'index.html'));
  if (!found || found.directory || !found.path.startsWith(realRoot.path + sep)) return undefined;
  return { path: found.path, size: found.size, contentType: contentTypes[extname(found.path).toLowerCase()] ?? 'application/octet-stream' };
}
