/**
 * S3's checks on a CompleteMultipartUpload request, which s3rver does not make: the part list must be XML S3 can read,
 * in ascending order, name parts that were uploaded with their ETags, and every part but the last must be at least
 * the minimum part size.
 */

function unescapeXml(value: string): string {
  return value.replace(/&(quot|amp|lt|gt|apos|#34);/g, (_all, name: string) => ({ quot: '"', amp: '&', lt: '<', gt: '>', apos: "'", '#34': '"' })[name] ?? '');
}

export interface RequestedPart {
  readonly partNumber: number;
  readonly etag: string;
}

export function partsFromCompleteXml(xml: string): RequestedPart[] | undefined {
  const parts: RequestedPart[] = [];
  for (const block of xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
    const partNumber = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(block[1] ?? '')?.[1];
    const etag = /<ETag>([\s\S]*?)<\/ETag>/.exec(block[1] ?? '')?.[1];
    if (partNumber === undefined || etag === undefined) return undefined;
    parts.push({ partNumber: Number(partNumber), etag: unescapeXml(etag).replace(/"/g, '').trim() });
  }
  return parts.length === 0 ? undefined : parts;
}

/** The S3 error CompleteMultipartUpload would return for this part list, if any. */
export function completeProblem(requested: readonly RequestedPart[], stored: Map<number, { etag: string; size: number }>, minPartBytes: number):
  { code: string; message: string } | undefined {
  for (let index = 0; index < requested.length; index += 1) {
    const part = requested[index] as RequestedPart;
    const previous = requested[index - 1];
    if (previous !== undefined && part.partNumber <= previous.partNumber) {
      return { code: 'InvalidPartOrder', message: 'The list of parts was not in ascending order. The parts list must be specified in order by part number.' };
    }
    const onDisk = stored.get(part.partNumber);
    if (onDisk === undefined || onDisk.etag.replace(/"/g, '') !== part.etag) {
      return { code: 'InvalidPart', message: `One or more of the specified parts could not be found (part ${part.partNumber}).` };
    }
    if (index < requested.length - 1 && onDisk.size < minPartBytes) {
      return { code: 'EntityTooSmall', message: `Your proposed upload is smaller than the minimum allowed size (part ${part.partNumber}).` };
    }
  }
  return undefined;
}
