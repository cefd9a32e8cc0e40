import { describe, expect, it } from 'vitest';
import { ApiError, errorMessage, toApiError } from './client';

describe('toApiError', () => {
  it('reads the contract error envelope', () => {
    const e = toApiError(409, { error: { code: 'tier_limit', message: 'Remove 2 stocks first', details: { remove: 2 } } });
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(409);
    expect(e.code).toBe('tier_limit');
    expect(e.message).toBe('Remove 2 stocks first');
    expect(e.details).toEqual({ remove: 2 });
  });

  it('tolerates FastAPI detail bodies and empty bodies', () => {
    expect(toApiError(404, { detail: 'Not Found' }).message).toBe('Not Found');
    expect(toApiError(422, { detail: [{ msg: 'field required' }] }).code).toBe('validation_error');
    expect(toApiError(500, undefined).message).toBe('Request failed (500)');
    expect(toApiError(502, 'Bad gateway').message).toBe('Bad gateway');
  });

  it('gives a message for anything thrown', () => {
    expect(errorMessage(new ApiError(400, 'x', 'bad'))).toBe('bad');
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage(42)).toBe('Something went wrong');
  });
});
