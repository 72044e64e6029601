export * from './types.js';
export * from './principal.js';
export * from './request.js';
export * from './response.js';
export * from './handler.js';
export * from './text.js';
