import type { SourceKind } from './config.js';

/**
 * The calls the simulator produces: Segment HTTP Tracking API objects exactly as an SDK puts them in
 * a `/v1/batch` body. Optional fields are present-but-undefined when absent (JSON.stringify drops
 * them), which keeps every call the same shape for the JIT.
 *
 * Sub-objects (context, context.page, campaign, device, library, traits) are SHARED between calls
 * of one visit and must be treated as read-only.
 */

export type SegmentCallType = 'track' | 'page' | 'identify' | 'alias' | 'group';

/** A type (not an interface) so a page can double as a page call's properties record. */
export type SegmentPage = {
  readonly url: string;
  readonly path: string;
  readonly referrer: string;
  readonly title: string;
};

export interface SegmentCampaign {
  readonly source: string;
  readonly medium: string;
  readonly name: string;
}

export interface SegmentContext {
  /** Absent on server-side calls (store, call center, billing). */
  readonly page: SegmentPage | undefined;
  readonly campaign: SegmentCampaign | undefined;
  readonly userAgent: string | undefined;
  readonly device: { readonly type: string; readonly id: string };
  readonly ip: string | undefined;
  readonly library: { readonly name: string; readonly version: string };
  readonly app: { readonly name: string; readonly version: string; readonly build: string } | undefined;
  readonly os: { readonly name: string; readonly version: string } | undefined;
  /** `{ persona }` on every call: becomes the pipeline's `segment` dimension. */
  readonly traits: { readonly persona: string };
}

export interface SegmentCall {
  readonly type: SegmentCallType;
  readonly messageId: string;
  readonly anonymousId: string | undefined;
  readonly userId: string | undefined;
  /** track only. */
  readonly event: string | undefined;
  /** page only. */
  readonly name: string | undefined;
  readonly properties: Readonly<Record<string, unknown>>;
  /** identify and group only. */
  readonly traits: Readonly<Record<string, unknown>> | undefined;
  /** group only. */
  readonly groupId: string | undefined;
  /** alias only. */
  readonly previousId: string | undefined;
  readonly context: SegmentContext;
  /** When the event happened (ISO-8601, ms, Z). */
  timestamp: string;
  /** When the SDK sent it (ISO); later than `timestamp` for late and out-of-order calls. */
  sentAt: string;
}

/** Where a call goes: the write key of one source of one site. */
export interface SourceRoute {
  readonly writeKey: string;
  /** The collector's sourceId: web | ios | android | server. */
  readonly source: SourceKind;
  readonly site: string;
}

/** A generated call with its routing and its times as numbers (no ISO parsing needed downstream). */
export interface SimulatedCall {
  readonly call: SegmentCall;
  readonly writeKey: string;
  readonly source: SourceKind;
  readonly site: string;
  /** Event time, epoch ms (= call.timestamp). */
  readonly at: number;
  /** Simulated send time, epoch ms (= call.sentAt); calls come out of the simulator in sendAt order. */
  readonly sendAt: number;
}

/** A SimulatedCall before delivery has decided when it is sent. */
export interface PlannedCall extends SimulatedCall {
  sendAt: number;
}

export const EMPTY_PROPERTIES: Readonly<Record<string, unknown>> = Object.freeze({});
