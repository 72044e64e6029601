/**
 * reelay's typed client for browsers and Node (fetch; no dependencies). `import { ReelayClient } from 'reelay/client'`.
 */
export { ReelayClient, type CallOptions, type CreateUploadOptions, type ReelayClientOptions } from './client.js';
export { Connection, type ApiRequest, type ConnectionOptions, type TokenSource } from './http.js';
export { apiErrorCodes, ReelayApiError, ReelayNetworkError, StorageError, UploadAbortedError, type ApiErrorCode, type ErrorDetail } from './errors.js';
export { contentTypeFor, type UploadInput, type UploadOptions, type UploadProgressEvent } from './upload.js';
export { fileFingerprint, LocalStorageResumeStore, MemoryResumeStore, type ListableWebStorage, type ResumeEntry, type ResumeStore, type WebStorage } from './resume.js';
export { defaultTransport, fetchTransport, xhrTransport, type PutAnswer, type PutRequest, type PutTransport } from './transport.js';
export type { RetryPolicy, RetryTools } from './retry.js';
export type * from './types.js';
