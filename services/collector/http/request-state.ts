import type { FastifyRequest } from 'fastify';
import type { SourceConfig } from '../../platform/segment/source-config.js';

/**
 * What the collector learns about a request while handling it: the resolved source (after auth)
 * and the event counts for metrics and the access log. Kept in a WeakMap rather than a request
 * decoration so no global Fastify type is augmented for the whole repository.
 */
export interface RequestState {
  /** When the request arrived (not when its body finished uploading): the receivedAt of its events. */
  receivedAt: number;
  source: SourceConfig | null;
  accepted: number;
  rejected: number;
  /** Events handed to the sink whose fate is unknown until it resolves (counted as `unavailable` if it fails). */
  inFlight: number;
  /** The body as read (decompressed), kept only until its events are measured (takeBody). */
  body: Buffer | null;
}

const states = new WeakMap<FastifyRequest, RequestState>();

/** Starts a request's state; called first thing on arrival. */
export function beginRequest(request: FastifyRequest, receivedAt: number): RequestState {
  const state: RequestState = { receivedAt, source: null, accepted: 0, rejected: 0, inFlight: 0, body: null };
  states.set(request, state);
  return state;
}

/** The request's state; requests that bypassed beginRequest (CORS preflights, 404s) get an empty one. */
export function stateOf(request: FastifyRequest): RequestState {
  return states.get(request) ?? beginRequest(request, Number.NaN);
}

export function sourceOf(request: FastifyRequest): SourceConfig | null {
  return states.get(request)?.source ?? null;
}

/** The body bytes, handed out once: the request does not hold them any longer than that. */
export function takeBody(request: FastifyRequest): Buffer | null {
  const state = stateOf(request);
  const body = state.body;
  state.body = null;
  return body;
}
