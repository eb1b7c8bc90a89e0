import type { Conversion, Credit, HeuristicModel } from '../attribution/heuristic.js';
import { chDateTime64 } from './rows.js';

/** One row of `attribution` (migrations/010_attribution.sql). */
export interface AttributionRow {
  conversion_id: string;
  customer_id: string;
  site: string;
  converted_at: string;
  model: HeuristicModel;
  touch_message_id: string;
  channel: string;
  campaign: string | null;
  touch_at: string;
  credit: number;
  revenue_share: number | null;
  version: number;
}

export interface AttributedConversion extends Conversion {
  customerId: string;
  site: string;
}

/**
 * The rows of one conversion's credit under one model. `version` is the number of touches the credit
 * was computed from: a correction (late touch, merged id) only adds touches, so its rows carry a
 * higher version and replace the earlier ones key by key (ReplacingMergeTree(version)).
 */
export function attributionRows(conversion: AttributedConversion, model: HeuristicModel, credits: readonly Credit[]): AttributionRow[] {
  return credits.map((c) => ({
    conversion_id: conversion.id,
    customer_id: conversion.customerId,
    site: conversion.site,
    converted_at: chDateTime64(conversion.at),
    model,
    touch_message_id: c.touch.messageId,
    channel: c.touch.channel,
    campaign: c.touch.campaign,
    touch_at: chDateTime64(c.touch.at),
    credit: c.credit,
    revenue_share: c.revenueShare,
    version: credits.length,
  }));
}
