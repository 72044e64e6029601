/**
 * User metadata on upload objects (`x-amz-meta-*`): what S3 can carry, how it is sent (SDK input or signed headers),
 * and the zero-byte marker a cancelled upload leaves at its key.
 */
import { ValidationError, type ValidationIssue } from '../errors.js';
import { issueAt } from './plan.js';

/**
 * User metadata for an object: names of lower-case letters, digits and dashes (they become `x-amz-meta-<name>`
 * headers), ASCII values (S3 refuses other bytes in a REST header).
 */
export type ObjectMetadata = Readonly<Record<string, string>>;

export function assertMetadata(metadata: ObjectMetadata): void {
  const problems = Object.entries(metadata).flatMap(([name, value]) => {
    const found: ValidationIssue[] = [];
    if (!/^[a-z0-9-]{1,100}$/.test(name)) found.push(issueAt(['metadata', name], 'lower-case letters, digits and dashes only'));
    if (!/^[\x20-\x7e]*$/.test(value)) found.push(issueAt(['metadata', name], 'printable ASCII only'));
    return found;
  });
  if (problems.length > 0) throw new ValidationError('Object metadata S3 cannot carry', problems);
}

/** The SDK input for `metadata` (checked first); nothing when there is none. */
export function metadataInput(metadata: ObjectMetadata): { Metadata?: Record<string, string> } {
  assertMetadata(metadata);
  return Object.keys(metadata).length === 0 ? {} : { Metadata: { ...metadata } };
}

/** `metadata` as the `x-amz-meta-*` headers a presigned PUT signs (checked first). */
export function metadataHeaders(metadata: ObjectMetadata): Record<string, string> {
  assertMetadata(metadata);
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [`x-amz-meta-${name}`, value]));
}

/**
 * The user-metadata name (`x-amz-meta-reelay-sealed`) of the zero-byte marker `UploadStorage.sealKey` leaves at the
 * key of a cancelled upload; its value says why.
 */
export const sealMetadataName = 'reelay-sealed';

/** True for the seal marker (no upload is ever empty: sizes are at least 1 byte). */
export function isSealMarker(object: { readonly size: number; readonly metadata?: Readonly<Record<string, string>> }): boolean {
  return object.size === 0 && object.metadata?.[sealMetadataName] !== undefined;
}
