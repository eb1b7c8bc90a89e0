import type { KafkaMessage } from 'kafkajs';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { EVENTS } from '../../schemas/event-names.js';
import type { FunnelEvent, SessionRecord } from '../../schemas/journey.js';
import type { Touchpoint } from '../../schemas/touchpoint.js';
import { topicCodecs, topicsWithPrefix } from '../../schemas/topics.js';
import { identityTableInMemory } from '../../tests/support/identity-table-in-memory.js';
import type { OutgoingRecord } from '../platform/kafka/producer.js';
import { createLogger } from '../platform/logging/logger.js';
import { anonymousNode, IdentityGraph, userNode } from './core/identity.js';
import { sessionizerConfig } from './core/sessions.js';
import { touchpoint } from './core/test-touchpoint.js';
import { createIdentityRouter } from './identity-router.js';
import { createJourneyProcessor, type JourneyCounters } from './journey-processor.js';
import { stageClassifierFromFile } from './stage-classifier.js';
import { defaultStagesCoreConfig } from './stages/stages-config.js';
import { DAY, HOUR, loadShippedChurnModel, loadShippedStageRules, MINUTE, rulesPath, T0 } from './stages/testing.js';

/**
 * Model-based test of the merge protocol (issue 20): the real identity routers (two touchpoints
 * partitions, in-memory tables) feeding the real journey step on two partitions of
 * identified-touchpoints, driven by fast-check command schedules: routing batches, deliveries in
 * any interleaving that keeps each partition's order, output sends, state flushes, crashes (memory
 * and unsent outputs lost; the step restores its changelog and processes the records after the
 * last flush again) and clean restarts. Merges happen in both orders: anonymous ids into users,
 * and users into users through a shared anonymous id, the survivor's or the absorbed id's records
 * first.
 *
 * The reference is single-threaded: one partition takes the routers' records in the order they
 * were sent, each record's loopbacks (transfers, forwards) at once after it, a tick after each, no
 * crash. What is compared, and the known limits (README, "Known limits") that shape it, is said at
 * each comparison below. What fails is listed at the end of the file.
 */

const topics = topicsWithPrefix('t.');
const codecs = {
  record: topicCodecs.identifiedTouchpoints(),
  session: topicCodecs.sessions(),
  transition: topicCodecs.stageTransitions(),
  funnel: topicCodecs.funnelEvents(),
  churn: topicCodecs.churnScores(),
};
const touchpointCodec = topicCodecs.touchpoints();
const silent = createLogger('test', 'silent');

// The default 7-day conversion window is longer than any generated history (at most 24 steps of
// 4 hours): no drop-off falls due before the end, when no merge wait is open. A shorter window
// finds the failure listed first at the end of the file.
const stagesOptions = { rules: loadShippedStageRules('ecommerce.yaml'), config: defaultStagesCoreConfig(), churn: loadShippedChurnModel() };
const sessionsConfig = sessionizerConfig(stageClassifierFromFile(rulesPath('ecommerce.yaml')));
/**
 * The processing clock stands still and every tick says "not caught up": the wall clock then moves
 * nothing (no live-source punctuation, no merge wait runs out during a schedule), so the results
 * depend on the records alone. `finish` ends the waits still open at the end, as their time limit
 * would (WAITS_OVER), and the reference does so at the same place.
 */
const PROCESSING_NOW = T0 + 365 * DAY;
const noCounters: JourneyCounters = {
  duplicates() {},
  late() {},
  sessionsClosed() {},
  touchpoints() {},
  transitions() {},
  churnAlerts() {},
  deadLetter() {},
  mergeWaitsExpired() {},
  mergeWaitsFull() {},
  bounded() {},
  oversizedOutput() {},
  idleTick() {},
};
/** A tick this much after the merge waits began ends every wait, however far behind the partition is (12 × maxWaitMs). */
const WAITS_OVER = PROCESSING_NOW + DAY;
/**
 * `holdSessionsMs`: SESSIONIZER_SESSION_OUTPUT_MS. With the processing clock standing still, held
 * versions go out only with `drain` before each state flush (and the reference's after each step).
 */
const newJourneyStep = (counters = noCounters, holdSessionsMs = 0) =>
  createJourneyProcessor({
    topics,
    codecs,
    sessions: sessionsConfig,
    stages: stagesOptions,
    tickLimit: 1_000,
    maxEventLagMs: 5 * MINUTE,
    // Two touchpoints partitions, each routed by its own router.
    sourcePartitions: 2,
    // Far above what a generated history holds: a wait ends only when its transfer comes (or in `finish`).
    mergeWait: { maxWaitMs: 60_000, maxHeld: 10_000, maxHeldBytes: 1 << 20 },
    counters,
    now: () => PROCESSING_NOW,
    sessionOutputIntervalMs: holdSessionsMs,
  });
type JourneyStep = ReturnType<typeof newJourneyStep>;

const ANONYMOUS = ['A0', 'A1', 'A2', 'A3'];
const USERS = ['U0', 'U1', 'U2'];
const CUSTOMER_IDS = [...USERS.map(userNode), ...ANONYMOUS.map(anonymousNode)];
/** After the history: its watermark closes every session and settles every window. */
const SENTINEL = 'end';

const message = (offset: number, value: Buffer): KafkaMessage =>
  ({ offset: String(offset), key: null, value, timestamp: '0', attributes: 0, headers: {} }) as KafkaMessage;

/** What the sinks keep: the last version of each session, each funnel row by id, each touchpoint's attribution. */
class Sinks {
  readonly sessions = new Map<string, SessionRecord>();
  readonly funnel = new Map<string, FunnelEvent>();
  readonly touchpoints = new Map<string, { customerId: string; late: boolean }>();

  take(r: OutgoingRecord): void {
    if (r.topic === topics.sessions) {
      const s = codecs.session.decode(r.value as Buffer);
      const known = this.sessions.get(s.sessionId);
      // ReplacingMergeTree(version): the highest version wins (the later insert on a tie).
      if (!known || s.version >= known.version) this.sessions.set(s.sessionId, s);
    } else if (r.topic === topics.funnelEvents) {
      // ReplacingMergeTree without a version: the later insert wins. A late conversion found at a
      // merge re-emits the survivor's entry with the stage it came from under the same event id
      // (stages/merge.ts, lateConversion), meant to replace the first.
      const f = codecs.funnel.decode(r.value as Buffer);
      this.funnel.set(f.eventId, f);
    } else if (r.topic === topics.customerTouchpoints) {
      const ctp = codecs.record.decode(r.value as Buffer).touchpoint!;
      this.touchpoints.set(ctp.touchpoint.messageId, { customerId: ctp.customerId, late: ctp.late });
    }
  }
}

/** One partition of identified-touchpoints and the journey step that owns it. */
interface Partition {
  log: Buffer[];
  step: JourneyStep;
  /** Records taken by `step` (the next offset to process). */
  handled: number;
  /** The durable state (compacted changelog) and the offset count it includes. */
  changelog: Map<string, Buffer>;
  applied: number;
  /** Outputs produced but not yet acknowledged by the broker: a crash loses them. */
  unsent: OutgoingRecord[];
}

interface Input {
  touchpoints: Touchpoint[];
  /** Touchpoints partition (router) of each anonymous id: the collector keys touchpoints by it. */
  source: Map<string, number>;
  /** Partition of identified-touchpoints of each customer id's key. */
  placement: Map<string, number>;
}

/** One partition of the touchpoints topic and the router instance that owns it. */
interface Router {
  handler: ReturnType<typeof createIdentityRouter>;
  table: ReturnType<typeof identityTableInMemory>;
  /** Its touchpoints in order, the sentinel last. */
  input: Touchpoint[];
  routed: number;
  /** How much of the identity-links topic its table has read (its own links it applies at once). */
  synced: number;
  clock: number;
}

const isRouterMarker = (key: string) => key.startsWith('@router-applied:');

/** The system under test: two routers (touchpoints partitions), each with its own copy of the identity table; two journey partitions; the sinks. */
class World {
  readonly sinks = new Sinks();
  /** Every record the routers sent, in the order they sent them (one copy of each watermark record): the reference's input. */
  readonly routerOrder: Buffer[] = [];
  /** The identity-links topic. */
  readonly links: OutgoingRecord[] = [];
  /** What this run went through (the test checks the generators reach each case). */
  readonly seen = new Set<string>();
  private readonly counters: JourneyCounters = {
    ...noCounters,
    mergeWaitsExpired: (n) => {
      if (n > 0) this.seen.add('merge wait expired');
    },
  };
  readonly partitions: Partition[];
  /** Where in routerOrder `finish` ended the waits still open (the reference does the same there). */
  waitsEndedAt = -1;
  readonly routers: Router[];
  private readonly transfers = new Set<string>();

  /**
   * `tablesLag`: the routers' tables never read each other's links (the widest race of README's
   * "Cross-partition links race by nature"); otherwise each reads them all before each batch, so
   * every link is known to both at once, as with one router.
   */
  constructor(
    private readonly input: Input,
    private readonly tablesLag: boolean,
    private readonly holdSessionsMs = 0,
  ) {
    // In the constructor: the parameter properties are not set yet when field initializers run.
    this.partitions = [0, 1].map(() => ({ log: [], step: newJourneyStep(this.counters, holdSessionsMs), handled: 0, changelog: new Map(), applied: 0, unsent: [] }));
    const last = Math.max(...input.touchpoints.map((tp) => tp.timestamp));
    this.routers = [0, 1].map((r) => {
      const sentinel = touchpoint({ messageId: `sentinel-${r}`, anonymousId: `${SENTINEL}${r}`, timestamp: last + 2 * DAY, receivedAt: last + 2 * DAY });
      const table = identityTableInMemory(topics.identityLinks);
      const router: Router = {
        table,
        input: [...input.touchpoints.filter((tp) => input.source.get(tp.anonymousId!) === r), sentinel],
        routed: 0,
        synced: 0,
        clock: 0,
        handler: createIdentityRouter({
          topics,
          table,
          producer: { send: async (records) => this.fromRouter(records) },
          touchpointCodec,
          recordCodec: codecs.record,
          linkOptions: {},
          recentMessagesPerPartition: 1_000,
          readRange: async () => {},
          outputPartitions: async () => 2,
          inputPartitions: async () => 2,
          inputIsEmpty: async () => false,
          registry: new Registry(),
          logger: silent,
          // Each batch is a router watermark interval later: every batch ends with watermark records.
          now: () => router.clock,
        }),
      };
      return router;
    });
  }

  private partitionOf(r: OutgoingRecord): number {
    return r.partition ?? this.input.placement.get(String(r.key)) ?? 0;
  }

  private fromRouter(records: OutgoingRecord[]): void {
    for (const r of records) {
      if (r.topic === topics.identityLinks) this.links.push(r);
      if (r.topic !== topics.identifiedTouchpoints) continue;
      this.partitions[this.partitionOf(r)]!.log.push(r.value as Buffer);
      if (r.partition === undefined || r.partition === 0) this.routerOrder.push(r.value as Buffer);
    }
  }

  /** Touchpoints of the history each router has yet to route (its sentinel not counted). */
  left(r: number): number {
    const router = this.routers[r]!;
    return router.input.length - 1 - router.routed;
  }

  /** Router `r` routes its next `n` touchpoints as one batch (its sentinel only when `finish` says). */
  async route(r: number, n: number, sentinel = false): Promise<void> {
    const router = this.routers[r]!;
    const end = Math.min(router.routed + n, router.input.length - (sentinel ? 0 : 1));
    const messages = router.input.slice(router.routed, end).map((tp, i) => message(router.routed + i, touchpointCodec.encode(tp)));
    if (messages.length === 0) return;
    if (!this.tablesLag) this.sync(r);
    router.clock += 1_000;
    router.routed += messages.length;
    const control = { heartbeat: async () => {}, commit: async () => {}, progress: async () => {} };
    await router.handler.handleBatch({ topic: topics.touchpoints, partition: r, messages, highWatermark: String(router.routed) }, control);
    await router.handler.flush({ topic: topics.touchpoints, partition: r }); // the batch's round: outputs, then links and marker
  }

  /** Router `r`'s table reads the identity-links topic to its end (the other router's links reach it). */
  private sync(r: number): void {
    const router = this.routers[r]!;
    for (const link of this.links.slice(router.synced)) {
      const key = String(link.key);
      if (!isRouterMarker(key)) router.table.applyFromTopic(key, String(link.value));
    }
    router.synced = this.links.length;
  }

  /** Every link both routers wrote: whom each id belongs to in the end. */
  finalGraph(): IdentityGraph {
    const graph = new IdentityGraph();
    for (const link of this.links) if (!isRouterMarker(String(link.key))) graph.applyEntry(String(link.key), String(link.value));
    return graph;
  }

  /** Processes up to `n` records of partition `p`, then its tick (the stateful handler's batch). */
  deliver(p: number, n: number): void {
    const part = this.partitions[p]!;
    const end = Math.min(part.log.length, part.handled + n);
    for (; part.handled < end; part.handled++) part.unsent.push(...part.step.process(message(part.handled, part.log[part.handled]!)));
    part.unsent.push(...part.step.tick(PROCESSING_NOW, { caughtUp: false }));
  }

  /** The broker acknowledges partition `p`'s outputs: loopbacks join their partition's log, the rest the sinks. */
  send(p: number): void {
    const part = this.partitions[p]!;
    for (const r of part.unsent.splice(0)) {
      if (r.topic === topics.identifiedTouchpoints) {
        this.partitions[this.partitionOf(r)]!.log.push(r.value as Buffer);
        const record = codecs.record.decode(r.value as Buffer);
        if (record.kind === 'transfer') this.seen.add(record.state ? 'transfer with state' : 'transfer without state');
        if (record.kind === 'touchpoint') this.seen.add('forward');
        if (record.kind === 'transfer' && record.state) {
          if (this.transfers.has(`${record.mergedFrom}`)) this.seen.add('repeated transfer');
          this.transfers.add(`${record.mergedFrom}`);
        }
      } else this.sinks.take(r);
    }
  }

  /** Outputs first, then the changed state and the applied offset (createStatefulHandler's flushState). */
  flush(p: number): void {
    const part = this.partitions[p]!;
    part.unsent.push(...(part.step.drain?.() ?? []));
    this.send(p);
    for (const u of part.step.takeStateUpdates()) {
      if (u.value === null) part.changelog.delete(u.key);
      else part.changelog.set(u.key, u.value);
    }
    part.applied = part.handled;
  }

  /** Memory and unsent outputs are gone: a new step restores the changelog and resumes after its applied offset. */
  crash(p: number): void {
    const part = this.partitions[p]!;
    if (part.handled > part.applied) this.seen.add('crash replays records');
    if (part.unsent.length > 0) this.seen.add('crash loses outputs');
    part.unsent = [];
    part.step = newJourneyStep(this.counters, this.holdSessionsMs);
    for (const [key, value] of part.changelog) part.step.restore(key, value);
    part.step.takeStateUpdates(); // restoring is not a change
    part.handled = part.applied;
  }

  /**
   * Routes what is left and delivers everything; then the sentinels (both sources' watermarks two
   * days past the history) settle every session and window, with no merge wait open any more.
   */
  async finish(): Promise<void> {
    for (const r of [0, 1]) while (this.left(r) > 0) await this.route(r, 5);
    this.drain();
    // A wait whose transfer never comes ends on its time limit (its held records go on without it).
    this.waitsEndedAt = this.routerOrder.length;
    for (const part of this.partitions) part.unsent.push(...part.step.tick(WAITS_OVER, { caughtUp: false }));
    this.drain();
    for (const r of [0, 1]) await this.route(r, 1, true);
    this.drain();
  }

  private drain(): void {
    for (let busy = true; busy; ) {
      busy = false;
      for (const [p, part] of this.partitions.entries()) {
        if (part.handled < part.log.length || part.unsent.length > 0) busy = true;
        this.deliver(p, Infinity);
        this.flush(p);
      }
    }
  }
}

/** The reference: one partition, the routers' order, each record's loopbacks at once, a tick after each. */
function reference(routerOrder: Buffer[], waitsEndedAt: number, holdSessionsMs = 0): Sinks {
  const sinks = new Sinks();
  const step = newJourneyStep(noCounters, holdSessionsMs);
  let offset = 0;
  const queue: Buffer[] = [];
  const take = (out: OutgoingRecord[]) => {
    for (const r of out) {
      if (r.topic === topics.identifiedTouchpoints) queue.push(r.value as Buffer);
      else sinks.take(r);
    }
  };
  const drain = () => {
    while (queue.length > 0) take(step.process(message(offset++, queue.shift()!)));
    take(step.tick(PROCESSING_NOW, { caughtUp: false }));
    take(step.drain?.() ?? []);
  };
  for (const [i, value] of routerOrder.entries()) {
    if (i === waitsEndedAt) take(step.tick(WAITS_OVER, { caughtUp: false }));
    queue.push(value);
    drain();
  }
  // What the last ticks released.
  while (queue.length > 0) drain();
  return sinks;
}

// ---- generators ----

/** `users`: how many user ids the touchpoints use (fewer: more merges of one person across both routers). */
const touchArb = (users: number) =>
  fc.record({
    anonymous: fc.nat(ANONYMOUS.length - 1),
    /** A userId with the anonymousId links them: merges of anonymous into user ids, and of user ids through a shared anonymous id. */
    user: fc.oneof({ weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat(users - 1) }),
    identify: fc.boolean(),
    event: fc.constantFrom(EVENTS.adClicked, EVENTS.productViewed, EVENTS.productAdded, EVENTS.orderCompleted, EVENTS.featureUsed, 'Page Viewed'),
    /** Event-time steps around the 30-minute session gap, and hours. */
    step: fc.constantFrom(0, MINUTE, 5 * MINUTE, 20 * MINUTE, 31 * MINUTE, 50 * MINUTE, 2 * HOUR, 4 * HOUR),
    /** Sent this much before its place: within the 10-minute grace, or late. */
    back: fc.constantFrom(0, 0, 0, 5 * MINUTE, 15 * MINUTE),
  });

const inputArb = (users = USERS.length): fc.Arbitrary<Input> =>
  fc
    .record({
      touches: fc.array(touchArb(users), { minLength: 1, maxLength: 24 }),
      source: fc.array(fc.nat(1), { minLength: ANONYMOUS.length, maxLength: ANONYMOUS.length }),
      placement: fc.array(fc.nat(1), { minLength: CUSTOMER_IDS.length, maxLength: CUSTOMER_IDS.length }),
    })
    .map(({ touches, source, placement }) => {
      let t = T0;
      const touchpoints = touches.map((x, i) => {
        t += x.step;
        const userId = x.user === null ? null : USERS[x.user]!;
        const identify = userId !== null && x.identify;
        return touchpoint({
          messageId: `m${i}`,
          type: identify ? 'identify' : 'track',
          event: identify ? '' : x.event,
          anonymousId: ANONYMOUS[x.anonymous]!,
          userId,
          timestamp: t - x.back,
          receivedAt: t - x.back,
        });
      });
      const input: Input = {
        touchpoints,
        source: new Map(ANONYMOUS.map((id, i) => [id, source[i]!])),
        placement: new Map(CUSTOMER_IDS.map((id, i) => [id, placement[i]!])),
      };
      // A counterexample reads as the history and the placement, one touchpoint a line.
      return Object.assign(input, { [fc.toStringMethod]: () => describeInput(input) });
    });

function describeInput(input: Input): string {
  const lines = input.touchpoints.map(
    (tp) => `${tp.messageId} ${tp.anonymousId}${tp.userId ? `+${tp.userId}` : ''} ${tp.type} '${tp.event}' @${(tp.timestamp - T0) / MINUTE}min`,
  );
  const source = [...input.source].map(([id, r]) => `${id}→${r}`).join(' ');
  const placement = [...input.placement].map(([id, p]) => `${id}→${p}`).join(' ');
  return `\n${lines.join('\n')}\nrouter of each anonymous id: ${source}\njourney partition of each customer id: ${placement}\n`;
}

/** What the command checks need: how many touchpoints each router has yet to route. */
type Model = { left: number[] };
type Command = fc.AsyncCommand<Model, World>;

const command = (name: string, act: (w: World) => void | Promise<void>, check: (m: Readonly<Model>) => boolean = () => true): Command => ({
  check,
  run: async (m, w) => {
    await act(w);
    m.left = [w.left(0), w.left(1)];
  },
  toString: () => name,
});

const partition = fc.nat(1);
/**
 * Schedules of the world's steps. Repeated entries weigh more: deliveries and routing are most of
 * a schedule, crashes frequent enough to matter.
 */
const commandsArb = fc.commands<Model, World, false>(
  [
    ...[1, 2].map(() => fc.tuple(partition, fc.integer({ min: 1, max: 4 })).map(([r, n]) => command(`route(${r}, ${n})`, (w) => w.route(r, n), (m) => m.left[r]! > 0))),
    ...[1, 2, 3].map(() => fc.tuple(partition, fc.integer({ min: 1, max: 6 })).map(([p, n]) => command(`deliver(${p}, ${n})`, (w) => w.deliver(p, n)))),
    ...[1, 2].map(() => partition.map((p) => command(`send(${p})`, (w) => w.send(p)))),
    partition.map((p) => command(`flush(${p})`, (w) => w.flush(p))),
    ...[1, 2].map(() => partition.map((p) => command(`crash(${p})`, (w) => w.crash(p)))),
    partition.map((p) =>
      command(`restart(${p})`, (w) => {
        w.flush(p);
        w.crash(p);
      }),
    ),
  ],
  { maxCommands: 60, size: 'medium' },
);

// ---- what is compared ----

const MIN = MINUTE;
const isSentinel = (person: string) => person.startsWith(anonymousNode(SENTINEL));
/**
 * Persons (final roots) that had touchpoints under an id absorbed since: their sessions were
 * merged across ids. Whether a session had closed when the merge reached it depends on where the
 * partition's ticks fell (the handler ticks after each batch, and batches are arbitrary), not on
 * the records alone, and a closed session is final:
 * - README, Known limits, "Closed sessions of an absorbed customer stay under the absorbed id (open
 *   ones move)": one that closed first stays apart, one still open moves and may coalesce with the
 *   survivor's sessions;
 * - likewise (not in README): a survivor's session that closed before the merge is not extended
 *   by the absorbed events the merge brings, which would otherwise bridge it to a later session.
 * For these persons the sessions are compared by their events only: how many (a session merged
 * into another counts there) and the span they cover.
 */
const mergedPersons = (routerOrder: Buffer[], personOf: (id: string) => string) =>
  new Set(
    routerOrder
      .map((value) => codecs.record.decode(value))
      .filter((r) => r.kind === 'touchpoint' && personOf(r.customerId) !== r.customerId)
      .map((r) => personOf(r.customerId)),
  );
/** Each session's last version (person, status, events, span in minutes); for a merged person, its events and span. */
const sessionsOf = (sinks: Sinks, personOf: (id: string) => string, merged: Set<string>) => {
  const out: Record<string, string> = {};
  const events = new Map<string, { count: number; from: number; to: number; open: number }>();
  const minutes = (t: number) => (t - T0) / MIN;
  for (const s of sinks.sessions.values()) {
    const person = personOf(s.customerId);
    if (isSentinel(person)) continue;
    if (!merged.has(person)) out[s.sessionId] = `${person} ${s.status} ${s.eventCount} ${minutes(s.startedAt)}-${minutes(s.endedAt)}`;
    else if (s.status !== 'merged') {
      const e = events.get(person) ?? { count: 0, from: Infinity, to: -Infinity, open: 0 };
      events.set(person, { count: e.count + s.eventCount, from: Math.min(e.from, s.startedAt), to: Math.max(e.to, s.endedAt), open: e.open + (s.status === 'closed' ? 0 : 1) });
    }
  }
  for (const [person, e] of events) out[`${person} (merged across ids)`] = `${e.count} events ${minutes(e.from)}-${minutes(e.to)}, ${e.open} left open`;
  return out;
};
/**
 * The funnel rows (the table's rows after replacing by event id), without the event id: which
 * touchpoint caused a row, and so its id, can depend on when a forwarded touchpoint arrived (README,
 * Known limits, "Cross-partition links race by nature": counts stay exact). A row counted twice
 * under two ids would still show.
 */
const funnelOf = (sinks: Sinks) => [...sinks.funnel.values()].map((f) => `${f.kind} ${f.fromStage ?? '-'}>${f.stage} ${f.customerId} ${(f.at - T0) / MIN}`).sort();
const lateOf = (sinks: Sinks) => Object.fromEntries([...sinks.touchpoints].map(([id, t]) => [id, t.late]));

/** One schedule on the world, then its finish, and the reference over the same router output. */
async function runSchedule(input: Input, commands: Iterable<Command>, tablesLag: boolean, holdSessionsMs = 0) {
  const world = new World(input, tablesLag, holdSessionsMs);
  await fc.asyncModelRun(() => ({ model: { left: [world.left(0), world.left(1)] }, real: world }), commands);
  await world.finish();
  const expected = reference(world.routerOrder, world.waitsEndedAt, holdSessionsMs);
  const graph = world.finalGraph();
  const personOf = (id: string) => graph.resolve(id);
  return { world, expected, personOf, merged: mergedPersons(world.routerOrder, personOf) };
}

/** Ids absorbed by the end that still hold state in a journey partition (each should have handed it on). */
const strandedState = (world: World, personOf: (id: string) => string) =>
  CUSTOMER_IDS.filter((id) => personOf(id) !== id).flatMap((id) =>
    world.partitions.filter((part) => part.step.stages.get(id) !== undefined || part.step.sessions.snapshot(id) !== null).map(() => `${id} (person ${personOf(id)})`),
  );

/** Per person: touchpoints in sessions plus late ones (each late one is a session of its own). */
const eventsOf = (sinks: Sinks, personOf: (id: string) => string) => {
  const out: Record<string, number> = {};
  const add = (key: string, n: number) => (out[key] = (out[key] ?? 0) + n);
  for (const s of sinks.sessions.values()) if (s.status !== 'merged' && !isSentinel(personOf(s.customerId))) add(`${personOf(s.customerId)} events`, s.eventCount);
  for (const t of sinks.touchpoints.values()) if (t.late) add(`${personOf(t.customerId)} events`, 1);
  return out;
};

/** Every case the generators must reach in a run of the property (how many runs, at least). */
function expectReached(reached: Map<string, number>, least: Record<string, number>): void {
  for (const [what, n] of Object.entries(least)) expect(reached.get(what) ?? 0, what).toBeGreaterThanOrEqual(n);
}
const tally = (reached: Map<string, number>, seen: Set<string>) => {
  for (const what of seen) reached.set(what, (reached.get(what) ?? 0) + 1);
};

describe('merge protocol: two journey partitions under any interleaving, crash and restart, against one partition in the routers’ order', () => {
  it('gives the reference’s sessions, funnel rows and late flags when every link is known to both routers at once', async () => {
    const reached = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(inputArb(), commandsArb, async (input, commands) => {
        const { world, expected, personOf, merged } = await runSchedule(input, commands, false);
        // Every touchpoint is attributed, and none is late in one run and on time in the other.
        expect(Object.keys(lateOf(world.sinks))).toHaveLength(input.touchpoints.length + 2);
        expect(lateOf(world.sinks)).toEqual(lateOf(expected));
        // Per person (the final root); see mergedPersons for the known limit that shapes it.
        expect(sessionsOf(world.sinks, personOf, merged)).toEqual(sessionsOf(expected, personOf, merged));
        // Funnel rows per customer id as they are: README, "Funnel entries of stitched customers"
        // (the absorbed id keeps its entries) is the rule that is the same in every arrival order.
        expect(funnelOf(world.sinks)).toEqual(funnelOf(expected));
        expect(strandedState(world, personOf)).toEqual([]);

        if (Object.values(lateOf(expected)).includes(true)) world.seen.add('late touchpoint');
        if (merged.size > 0) world.seen.add('person merged across ids');
        const exact = (sinks: Sinks) => sessionsOf(sinks, personOf, new Set());
        if (!isDeepStrictEqual(exact(world.sinks), exact(expected))) world.seen.add('sessions split by the known limit');
        tally(reached, world.seen);
      }),
      { seed: 20_003, numRuns: 500 },
    );
    expectReached(reached, {
      'transfer with state': 200,
      'person merged across ids': 200,
      'crash replays records': 250,
      'crash loses outputs': 180,
      'repeated transfer': 15,
      'late touchpoint': 25,
      'sessions split by the known limit': 4,
    });
  });

  it('attributes every touchpoint once, and counts each person’s events as the reference does, when the routers’ tables lag', async () => {
    const reached = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(inputArb(2), commandsArb, async (input, commands) => {
        const { world, expected, personOf } = await runSchedule(input, commands, true);
        // README, "Cross-partition links race by nature": a touchpoint routed before its router
        // knew of a merge goes to the id it resolved to then and is forwarded; "counts stay
        // exact". Here only the counts are compared: see the end of the file for what differs.
        expect(Object.keys(lateOf(world.sinks))).toHaveLength(input.touchpoints.length + 2);
        expect(eventsOf(world.sinks, personOf)).toEqual(eventsOf(expected, personOf));
        if (strandedState(world, personOf).length > 0) world.seen.add('state stranded under an absorbed id');
        tally(reached, world.seen);
      }),
      { seed: 20_004, numRuns: 800 },
    );
    expectReached(reached, { forward: 40, 'crash replays records': 400, 'transfer with state': 300, 'repeated transfer': 30 });
  });

  it('gives the same sessions, funnel rows and late flags with session versions held until each state flush', async () => {
    // SESSIONIZER_SESSION_OUTPUT_MS (off by default, README: Reliability): a held version must never
    // be lost to a crash nor outlive a newer one, whatever the interleaving.
    const reached = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(inputArb(), commandsArb, async (input, commands) => {
        const { world, expected, personOf, merged } = await runSchedule(input, commands, false, 1_000);
        expect(lateOf(world.sinks)).toEqual(lateOf(expected));
        expect(sessionsOf(world.sinks, personOf, merged)).toEqual(sessionsOf(expected, personOf, merged));
        expect(funnelOf(world.sinks)).toEqual(funnelOf(expected));
        expect(strandedState(world, personOf)).toEqual([]);
        tally(reached, world.seen);
      }),
      { seed: 20_005, numRuns: 300 },
    );
    expectReached(reached, { 'crash loses outputs': 100, 'transfer with state': 120 });
  });
});

/*
 * NOT IN THE DEFAULT RUN: what fails (reported to the lead for issue 20). Each shrunk case below
 * has every anonymous id on journey partition 0 and no scheduled command unless said.
 *
 * 1. (Fixed: stages.tick now defers a waiting survivor as sessions.expire does; unit test in
 *    journey-processor.test.ts.) With a 3-hour window (`conversionWindowMs: 3 * HOUR`) the first
 *    property still fails, on an absorbed id's deadline that falls before its merge: m0 A0 'Ad
 *    Clicked' @0, m1 A0 @120, m2 A1+U0 @240, m3 A2 @240, m4 A0+U0 @240 (A0, A1 on router 0, A2 on
 *    router 1), route(1, 1), route(0, 3), crash(0): the reference settles "dropoff ->awareness a:A0
 *    180" before the merge at 240; the two partitions export a:A0 into u:U0 before the other
 *    router's watermark passes 180 + grace, and the drop-off is never emitted. Whether an absorbed
 *    id's deadlines before the merge's event time are settled depends on arrival order.
 *
 * With the routers' tables lagging (the second property), the first property's exact comparison
 * and its strandedState check fail:
 *
 * 2. A forwarded touchpoint is overtaken by its own device's later ones, so more than which id a
 *    raw row carries depends on timing (README, "Cross-partition links race by nature", says counts
 *    stay exact). m0 A3+U0 identify, m1 A3+U1 'Page Viewed' (router 0: u:U1 into u:U0), m2 A0+U1
 *    'Ad Clicked', m3 A0+U0 'Product Added', m4 A0+U0 'Ad Clicked' (router 1, not knowing: a:A0
 *    into u:U1, m2 routed to u:U1, then u:U1 into u:U0 again), all at minute 0: m2 is forwarded to
 *    u:U0 through the partition's tail and processed after m3 and m4, routed after it from the same
 *    anonymous id. Funnel: "entry ->consideration u:U0" where the reference has "entry ->awareness",
 *    "conversion awareness>consideration" and "entry awareness>consideration". Late flags (a
 *    touchpoint alone in a late session instead of joining the forwarded one's) and funnel times
 *    differ the same way.
 *
 * 3. A transfer to a survivor that was merged away itself is imported there, not forwarded
 *    (journey-processor.ts handle(): `record.kind !== 'transfer'`), so the absorbed state is
 *    stranded under a dead id. m0 A0 (router 1), m1 A2+U0, m2 A2+U1 (router 0: u:U1 into u:U0),
 *    m3 A0+U1 (router 1, not knowing: a:A0 into u:U1): a:A0's sessions and journey stay under u:U1.
 *
 * 4. Two routers absorb one id into two survivors, and the survivors are never merged. m0 A1+U2,
 *    m1 A1+U1 (router 1: u:U2 into u:U1), m2 A0+U0, m3 A0+U2 (router 0: u:U2 into u:U0): u:U2's
 *    owner takes the notice into u:U0 first (router 0 routed first); its notice into u:U1 is then
 *    dropped as that of a merged-away id, so u:U1
 *    waits for a transfer that never comes until the merge wait runs out, and no one ever sends
 *    "merge u:U1 into u:U0" although the graph makes them one person: u:U1's state stays apart.
 *
 * Not detected by the default run either: losing the `fwd:` ledger on restore (what 3 and 4 also
 * trip, the strandedState check, would show it).
 */
