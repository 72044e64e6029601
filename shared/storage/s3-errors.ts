/**
 * S3's errors as reelay's: the failures a caller can cause become the typed errors of shared/errors.ts; anything
 * else (throttling, outages) is returned unchanged. Loaded with the S3 client, never for presigning alone.
 */
import { S3ServiceException } from '@aws-sdk/client-s3';
import { ConflictError, NotFoundError, PayloadTooLargeError, ValidationError, type ValidationIssue } from '../errors.js';
import { S3Limits } from './config.js';

/** The S3 refusals of a conditional write: the condition did not hold (412, or 404 for If-Match), or a race (409). */
export function isConditionRefusal(error: unknown): boolean {
  return error instanceof S3ServiceException && ['PreconditionFailed', 'ConditionalRequestConflict', 'NoSuchKey'].includes(error.name);
}

/** Turns the S3 errors a caller can provoke into reelay's typed errors; anything else is returned unchanged. */
export function translateS3Error(error: unknown, context: { readonly key: string; readonly uploadId?: string }): unknown {
  if (!(error instanceof S3ServiceException)) return error;
  const upload = context.uploadId === undefined ? '' : ` (upload ${context.uploadId})`;
  const partsIssue = (message: string): ValidationIssue[] => [{ path: ['parts'], message }];
  switch (error.name) {
    // Every reelay write to a source key is conditional (If-None-Match: *): the key already holds an object.
    case 'PreconditionFailed':
      return new ConflictError(`${context.key} already holds an object; an upload writes its key once${upload}`);
    // A delete of the key (a cancelled video being cleaned up) landed while the write was on its way.
    case 'ConditionalRequestConflict':
      return new ConflictError(`${context.key} was changed while this write was on its way${upload}; the upload was not stored`);
    case 'MalformedXML':
      return new ValidationError(`S3 could not read the part list${upload}`, partsIssue('parts S3 cannot read (ETags must be the ones S3 returned)'));
    case 'NoSuchUpload':
      return new NotFoundError(`No open multipart upload${upload} for ${context.key}: it was completed, aborted or never started`);
    case 'NoSuchKey':
    case 'NotFound':
      return new NotFoundError(`No object at ${context.key}`);
    case 'EntityTooSmall':
      return new ValidationError(`Every part but the last must be at least ${S3Limits.minPartBytes} bytes${upload}`, partsIssue('a part before the last is under 5 MiB'));
    case 'InvalidPart':
      return new ValidationError(`A listed part was not uploaded or its ETag does not match${upload}`, partsIssue('unknown part or wrong etag'));
    case 'InvalidPartOrder':
      return new ValidationError(`Parts must be listed in ascending part-number order${upload}`, partsIssue('not in ascending order'));
    case 'EntityTooLarge':
      return new PayloadTooLargeError(`The object at ${context.key} is over S3's size limit`);
    default:
      return error;
  }
}

export async function mapped<T>(work: Promise<T>, context: { readonly key: string; readonly uploadId?: string }): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw translateS3Error(error, context);
  }
}
