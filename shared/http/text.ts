/**
 * The one string primitive of the request schemas: text reelay can store exactly as it was sent.
 *
 * PostgreSQL's `text` cannot hold U+0000 (the statement fails with SQLSTATE 22021, which would be a 500), and a
 * string with an unpaired UTF-16 surrogate is not Unicode at all: every driver encodes it to UTF-8 as U+FFFD, so the
 * row would silently differ from the request. JSON can carry both (`"\u0000"`, `"\ud800"`), so every text field,
 * query parameter and path parameter of every route goes through {@link text}, and such input is a 400 naming the
 * field.
 */
import * as z from '../zod.js';

const unpairedSurrogate = /\p{Cs}/u;

/** Why PostgreSQL text cannot hold `value` as it is, or undefined when it can. */
export function unstorableTextProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'must not contain NUL characters (\\u0000)';
  if (unpairedSurrogate.test(value)) return 'must be valid Unicode: it contains an unpaired surrogate (\\uD800–\\uDFFF)';
  return undefined;
}

/** `z.string()` that refuses what PostgreSQL text cannot store; add `z.trim()`, `z.minLength()`… with `.check()`. */
export function text(): z.ZodMiniString<string> {
  return z.string().check((context) => {
    const problem = unstorableTextProblem(context.value);
    if (problem !== undefined) context.issues.push({ code: 'custom', message: problem, input: context.value });
  });
}

/** The `{id}` path parameter of the video routes. */
export const idParams = /* @__PURE__ */ z.object({ id: /* @__PURE__ */ z.uuid({ error: 'must be a UUID' }) });
