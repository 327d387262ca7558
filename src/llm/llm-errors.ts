// What a failed model call means for the retry layers. The SDKs never retry (maxRetries: 0); Temporal
// retries the activity, so each failing call is sent once per Temporal attempt. This file decides, per
// error, whether Temporal should retry it and when (a provider's Retry-After wins over the backoff).
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { ApplicationFailure } from '@temporalio/common';

/** A provider error that retrying cannot fix (bad key, bad request, unknown model). */
export class NonRetryableLlmError extends Error {
  override name = 'NonRetryableLlmError';
}

/** The failure type Temporal retries (429, 5xx, timeouts, dropped connections). */
export const RETRYABLE_LLM_ERROR = 'RetryableLlmError';

/** HTTP statuses a retry may fix: timeouts, conflicts, rate limits (and every 5xx). Other 4xx (400, 401, 403, 404, 422…) cannot. */
const RETRYABLE_4XX = [408, 409, 429];

/** The longest wait a Retry-After may ask for; beyond it the retry policy's own backoff applies. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Milliseconds a provider asks us to wait: `retry-after-ms` (OpenAI), else `retry-after` in seconds
 * or as an HTTP date. Undefined when absent, unreadable, or longer than MAX_RETRY_AFTER_MS.
 */
export function retryAfterMs(
  headers: { get(name: string): string | null } | undefined,
  now = Date.now(),
): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  let wait = Number.isFinite(ms) && ms >= 0 ? ms : undefined;
  const value = headers?.get('retry-after')?.trim();
  if (wait === undefined && value) {
    const seconds = Number(value);
    if (Number.isFinite(seconds) && seconds >= 0) wait = seconds * 1000;
    else if (!Number.isNaN(Date.parse(value))) wait = Math.max(0, Date.parse(value) - now);
  }
  return wait !== undefined && wait <= MAX_RETRY_AFTER_MS ? Math.ceil(wait) : undefined;
}

/**
 * Whether a failed call may have reached the provider without us reading its answer, so it may be
 * billed: a timeout or a connection dropped after connecting, or a call aborted by the activity's
 * cancellation. A refused connection or an HTTP error answer was not (an error answer is not billed).
 */
export function sentUnanswered(err: unknown): boolean {
  if (err instanceof ApplicationFailure && err.type === RETRYABLE_LLM_ERROR)
    return (err.details?.[0] as { unanswered?: boolean } | undefined)?.unanswered === true;
  if (err instanceof OpenAI.APIConnectionTimeoutError || err instanceof Anthropic.APIConnectionTimeoutError)
    return true;
  if (err instanceof OpenAI.APIUserAbortError || err instanceof Anthropic.APIUserAbortError) return true;
  if (err instanceof OpenAI.APIConnectionError || err instanceof Anthropic.APIConnectionError) {
    return !/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(causeText(err));
  }
  return false;
}

function causeText(err: Error): string {
  const parts: string[] = [];
  for (let e: unknown = err; e && parts.length < 5; e = (e as { cause?: unknown }).cause) {
    parts.push(String((e as { code?: string }).code ?? ''), String((e as Error).message ?? ''));
  }
  return parts.join(' ');
}

/**
 * The error a failed SDK call becomes: NonRetryableLlmError for a 4xx a retry cannot fix (400, 401,
 * 403, 404, 422…); an ApplicationFailure of type RetryableLlmError for 408/409/429, 5xx, timeouts and
 * dropped connections, with `nextRetryDelay` from Retry-After when the provider sent one (else the
 * retry policy's backoff). A cancelled call (the activity's own abort) stays as it is.
 */
export function classifyLlmError(err: unknown, what: string): unknown {
  if (!(err instanceof OpenAI.APIError || err instanceof Anthropic.APIError)) return err;
  if (err instanceof OpenAI.APIUserAbortError || err instanceof Anthropic.APIUserAbortError) return err;
  const status = err.status;
  if (status !== undefined && status >= 400 && status < 500 && !RETRYABLE_4XX.includes(status)) {
    return new NonRetryableLlmError(`${what}: HTTP ${status}: ${err.message}`);
  }
  const nextRetryDelay = retryAfterMs(err.headers);
  return ApplicationFailure.create({
    type: RETRYABLE_LLM_ERROR,
    message: `${what}: ${status === undefined ? 'no answer' : `HTTP ${status}`}: ${err.message}`,
    // Read by the caller that keeps the usage books (cached-chat.ts): was this send maybe billed?
    details: [{ unanswered: sentUnanswered(err) }],
    ...(nextRetryDelay !== undefined ? { nextRetryDelay } : {}),
  });
}
