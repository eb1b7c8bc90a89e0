import type { PackedBytes } from '../../platform/collections/packed-bytes.js';
import type { AttributionLimits } from './attribution-state.js';
import { FORMAT, Reader, Writer } from './attribution-state-codec.js';

/**
 * A touch applied to a customer's state while it stays packed (its changelog part, format 1 of
 * attribution-state-codec.ts, as a latin1 string packed with ALL_PLAIN: the string is the bytes, so
 * they are read and appended to in place, never through packed bytes' zero runs): nearly every touch comes in time order to a
 * customer with no kept conversion, and for those the new state is the old bytes with a new clock,
 * the touch appended and its new labels added to the strings, never decoded. The partition holds
 * every customer so between flushes: one string per customer instead of arrays, label and messageId
 * strings the GC must promote and mark (the cost of attribution was more GC than its own work).
 *
 * Returns exactly the bytes encodeAttributionState writes for the decoded state after the same
 * steps (`process`: the clock moved, then the touch dropped as too old, ignored as a repeat, or
 * inserted), or null when the touch needs the decoded state: a kept conversion (credits, pruning
 * conversions), a touch not after the latest one (an insert, or an equal time ordered by messageId),
 * touches to drop by age or by the count bound, or a string with a character outside ASCII (the
 * comparisons here are byte by byte). `packed` null: the customer has no state yet.
 */
export function withTouch(
  packed: PackedBytes | null,
  observedAt: number,
  messageId: string,
  at: number,
  channel: string,
  campaign: string | null,
  site: string,
  limits: AttributionLimits,
): PackedBytes | null {
  if (!ascii(messageId) || !ascii(channel) || (campaign !== null && !ascii(campaign)) || !ascii(site)) return null;
  // The state as the packed bytes hold it: the clock, where its strings and touches lie, the labels'
  // indexes, the first and latest touch times and whether messageId is there already.
  let clock = -Infinity;
  let strings = 0;
  let touches = 0;
  let bytes: Buffer | null = null;
  let stringsStart = 0;
  let stringsEnd = 0;
  let firstDeltaEnd = 0;
  let touchesEnd = 0;
  let first = 0;
  let latest = -Infinity;
  let channelIndex = -1;
  let campaignIndex = -1;
  let siteIndex = -1;
  let repeat = false;
  if (packed !== null) {
    bytes = unpacked(packed);
    const r = new Reader(bytes, packed.length);
    if (r.byte() !== FORMAT) return null; // decoding says what is wrong with it
    clock = r.int();
    strings = r.uint();
    stringsStart = r.at;
    for (let i = 0; i < strings; i++) {
      const n = r.skipString();
      const start = r.at - n;
      if (r.isAscii(start, n, channel)) channelIndex = i;
      if (campaign !== null && r.isAscii(start, n, campaign)) campaignIndex = i;
      if (r.isAscii(start, n, site)) siteIndex = i;
    }
    stringsEnd = r.at;
    touches = r.uint();
    let previous = clock;
    for (let i = 0; i < touches; i++) {
      const t = previous + r.int();
      if (i === 0) {
        first = t;
        firstDeltaEnd = r.at;
      }
      previous = t;
      r.uint();
      r.uint();
      r.uint();
      const n = r.skipString();
      if (r.isAscii(r.at - n, n, messageId)) repeat = true;
    }
    latest = previous;
    touchesEnd = r.at;
    if (r.uint() !== 0) return null; // a kept conversion
    r.end();
  }
  // As AttributionPartition.process on the decoded state: the clock first, then the touch.
  const nextClock = Math.max(clock, observedAt);
  const oldest = nextClock - limits.correctionMs - limits.lookbackMs;
  const kept = at >= oldest && !repeat;
  if (kept && (at <= latest || touches + 1 > limits.maxTouches || (touches > 0 && first < oldest))) return null;
  if (!kept && packed !== null && nextClock === clock) return packed; // nothing changed

  const w = new Writer();
  const written = Number.isFinite(nextClock) ? nextClock : 0;
  w.byte(FORMAT);
  w.int(written);
  // New labels go after the others in the order encodeAttributionState interns them: the touches'
  // first uses, channel, campaign, site of each (with no conversion, nothing comes after them).
  let added = 0;
  let newChannel: string | null = null;
  let newCampaign: string | null = null;
  let newSite: string | null = null;
  if (kept) {
    if (channelIndex < 0) {
      channelIndex = strings + added++;
      newChannel = channel;
    }
    if (campaign !== null && campaignIndex < 0) {
      if (campaign === channel) campaignIndex = channelIndex;
      else {
        campaignIndex = strings + added++;
        newCampaign = campaign;
      }
    }
    if (siteIndex < 0) {
      if (site === channel) siteIndex = channelIndex;
      else if (site === campaign) siteIndex = campaignIndex;
      else {
        siteIndex = strings + added++;
        newSite = site;
      }
    }
  }
  w.uint(strings + added);
  if (bytes !== null) w.copy(bytes, stringsStart, stringsEnd);
  if (newChannel !== null) w.string(newChannel);
  if (newCampaign !== null) w.string(newCampaign);
  if (newSite !== null) w.string(newSite);
  w.uint(touches + (kept ? 1 : 0));
  if (touches > 0) {
    w.int(first - written); // the first touch's time is relative to the clock, the others to the one before
    w.copy(bytes!, firstDeltaEnd, touchesEnd);
  }
  if (kept) {
    w.int(touches > 0 ? at - latest : at - written);
    w.uint(channelIndex);
    w.uint(campaign === null ? 0 : campaignIndex + 1);
    w.uint(siteIndex);
    w.string(messageId);
  }
  w.uint(0);
  return w.packed();
}

/**
 * The packed bytes in the first `packed.length` bytes of one buffer reused by every call (grown for a
 * larger state): a touch allocates nothing to read the state (the writer has a scratch of its own).
 */
let input = Buffer.allocUnsafe(16 * 1024);
function unpacked(packed: PackedBytes): Buffer {
  if (packed.length > input.length) input = Buffer.allocUnsafe(Math.max(2 * input.length, packed.length));
  input.write(packed, 0, 'latin1');
  return input;
}

function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
