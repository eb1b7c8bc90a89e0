import { STAGES, type Stage } from '../../../schemas/journey.js';
import type { Incident } from './config.js';
import type { SegmentCallType } from './segment-call.js';
import type { JourneyCounter } from './world.js';

export interface IncidentStats {
  readonly incident: Incident;
  /** People stopped at the step (conversion-drop) or calls lost (tracking-stopped). */
  readonly applied: number;
}

/**
 * What the simulator has done so far: the ground truth to compare the pipeline's numbers with.
 * Journey counters (stages, calls.generated, byType/byEvent, …) count what journeys have done, which
 * runs ahead of the calls returned by at most a few page gaps; after a bounded run they match exactly.
 */
export interface SimulatorStats {
  /** Simulated ms since startTime (the send time of the last call returned). */
  readonly elapsedMs: number;
  /** People whose journey is still running (memory grows with this: ~ arrival rate × journey length). */
  readonly activePeople: number;
  /** Calls held back (late, out-of-order, duplicates) and not yet sent. */
  readonly heldCalls: number;
  /** Every simulated person, buying-committee members included. */
  readonly people: number;
  /** Journeys (a B2B account's journey is its champion's), referred journeys included. */
  readonly journeys: number;
  readonly referredJourneys: number;
  /** Journeys per persona that entered each stage. */
  readonly stages: Readonly<Record<string, Readonly<Record<Stage, number>>>>;
  readonly calls: {
    /** Calls the journeys made (before loss, delays and duplicates). */
    readonly generated: number;
    /** Calls returned by next()/nextUntil(), duplicates included. */
    readonly emitted: number;
    /** Calls lost to tracking-stopped incidents. */
    readonly suppressed: number;
    readonly byType: Readonly<Record<SegmentCallType, number>>;
    /** Track calls by event name. */
    readonly byEvent: Readonly<Record<string, number>>;
  };
  /** Extra copies scheduled with an already used messageId. */
  readonly duplicates: number;
  /** Calls held back far behind their timestamp. */
  readonly late: number;
  /** Calls held back a little, arriving after later calls. */
  readonly outOfOrder: number;
  readonly identified: number;
  readonly repeatPurchases: number;
  readonly complaints: number;
  readonly referrals: number;
  readonly lapsed: number;
  readonly incidents: readonly IncidentStats[];
}

export class StatsCollector {
  people = 0;
  journeys = 0;
  referredJourneys = 0;
  generated = 0;
  emitted = 0;
  suppressed = 0;
  duplicates = 0;
  late = 0;
  outOfOrder = 0;
  private readonly byType: Record<SegmentCallType, number> = { track: 0, page: 0, identify: 0, alias: 0, group: 0 };
  private readonly byEvent = new Map<string, number>();
  /** stageCounts[persona][stageRank] */
  private readonly stageCounts: number[][];
  private readonly counters: Record<JourneyCounter, number> = {
    identified: 0,
    repeatPurchases: 0,
    complaints: 0,
    referrals: 0,
    lapsed: 0,
  };

  constructor(private readonly personaNames: readonly string[]) {
    this.stageCounts = personaNames.map(() => STAGES.map(() => 0));
  }

  call(type: SegmentCallType, event: string | undefined): void {
    this.generated++;
    this.byType[type]++;
    if (event !== undefined) this.byEvent.set(event, (this.byEvent.get(event) ?? 0) + 1);
  }

  stage(persona: number, stageRank: number): void {
    this.stageCounts[persona]![stageRank]!++;
  }

  note(counter: JourneyCounter): void {
    this.counters[counter]++;
  }

  snapshot(
    elapsedMs: number,
    incidents: readonly Incident[],
    applied: readonly number[],
    inFlight: { activePeople: number; heldCalls: number },
  ): SimulatorStats {
    const stages: Record<string, Record<Stage, number>> = {};
    this.personaNames.forEach((name, i) => {
      stages[name] = Object.fromEntries(STAGES.map((s, r) => [s, this.stageCounts[i]![r]!])) as Record<Stage, number>;
    });
    return {
      elapsedMs,
      ...inFlight,
      people: this.people,
      journeys: this.journeys,
      referredJourneys: this.referredJourneys,
      stages,
      calls: {
        generated: this.generated,
        emitted: this.emitted,
        suppressed: this.suppressed,
        byType: { ...this.byType },
        byEvent: Object.fromEntries([...this.byEvent].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
      },
      duplicates: this.duplicates,
      late: this.late,
      outOfOrder: this.outOfOrder,
      ...this.counters,
      incidents: incidents.map((incident, i) => ({ incident, applied: applied[i] ?? 0 })),
    };
  }
}
