import type { SimulatorConfig } from './config.js';
import type { Incidents } from './incidents.js';
import { IsoFormatter } from './iso-time.js';
import type { Rng } from './random.js';
import type { PlannedCall, SegmentCall, SimulatedCall } from './segment-call.js';
import type { StatsCollector } from './stats.js';
import { TimeHeap } from '../../platform/collections/time-heap.js';

type DeliveryConfig = SimulatorConfig['delivery'];

/**
 * What happens to a call between the SDK and the collector, decided when the call is due (in time
 * order): lost while tracking is down, sent at once, held back a little (out of order) or a lot
 * (late), and sometimes sent twice (same messageId). Held calls wait in a queue by send time; the
 * engine interleaves them with new calls, so output stays in send-time order.
 */
export class Delivery {
  private readonly held = new TimeHeap<SimulatedCall>();
  /** Due calls come in time order, so this formatter's per-second cache nearly always hits. */
  private readonly timestampIso = new IsoFormatter();
  /** Held calls' sentAt lies ahead of the current second: a formatter of its own keeps both caches warm. */
  private readonly sentAtIso = new IsoFormatter();
  private readonly lateMin: number;
  private readonly lateSpan: number;
  private readonly lateOrOutOfOrder: number;
  private readonly duplicateMin: number;
  private readonly duplicateSpan: number;

  constructor(
    private readonly cfg: DeliveryConfig,
    private readonly rng: Rng,
    private readonly incidents: Incidents,
    private readonly stats: StatsCollector,
  ) {
    this.lateMin = cfg.lateDelayMs.min;
    this.lateSpan = cfg.lateDelayMs.max - cfg.lateDelayMs.min;
    this.lateOrOutOfOrder = cfg.lateRate + cfg.outOfOrderRate;
    this.duplicateMin = cfg.duplicateDelayMs.min;
    this.duplicateSpan = cfg.duplicateDelayMs.max - cfg.duplicateDelayMs.min;
  }

  get heldCount(): number {
    return this.held.size;
  }

  /** The send time of the next held call, +Infinity if none. */
  nextHeldTime(): number {
    return this.held.peekTime();
  }

  releaseHeld(out: SimulatedCall[]): void {
    const call = this.held.pop();
    if (call !== undefined) out.push(call);
  }

  /** Delivers a call that is due now (`planned.at`), stamping its timestamp and sentAt. */
  deliver(planned: PlannedCall, out: SimulatedCall[]): void {
    const { incidents, rng, stats } = this;
    const at = planned.at;
    if (incidents.stopped(planned.site, planned.source, at)) {
      stats.suppressed++;
      return;
    }
    const call = planned.call;
    call.timestamp = this.timestampIso.format(at);
    call.sentAt = call.timestamp;
    const u = rng.next();
    if (u < this.lateOrOutOfOrder) {
      const late = u < this.cfg.lateRate;
      const sendAt = late
        ? at + this.lateMin + Math.floor(rng.next() * (this.lateSpan + 1))
        : at + 1 + Math.floor(rng.next() * this.cfg.outOfOrderWindowMs);
      if (incidents.stopped(planned.site, planned.source, sendAt)) {
        stats.suppressed++;
        return;
      }
      if (late) stats.late++;
      else stats.outOfOrder++;
      planned.sendAt = sendAt;
      call.sentAt = this.sentAtIso.format(sendAt);
      this.held.push(planned, sendAt);
    } else {
      out.push(planned);
    }
    if (rng.chance(this.cfg.duplicateRate)) this.resend(planned);
  }

  /** An SDK retry: the same call (same messageId) again, with a later sentAt. */
  private resend(first: SimulatedCall): void {
    const sendAt = first.sendAt + this.duplicateMin + Math.floor(this.rng.next() * (this.duplicateSpan + 1));
    if (this.incidents.stopped(first.site, first.source, sendAt)) {
      this.stats.suppressed++;
      return;
    }
    this.stats.duplicates++;
    const call: SegmentCall = { ...first.call, sentAt: this.sentAtIso.format(sendAt) };
    this.held.push({ ...first, call, sendAt }, sendAt);
  }
}
