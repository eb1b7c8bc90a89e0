import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { topicCodecs, topicsWithPrefix } from '../../../schemas/topics.js';
import { ConfigError, parseEnv } from '../../platform/config/env.js';
import { createKafka } from '../../platform/kafka/client.js';
import { pipelineTopicsSetup } from '../../platform/kafka/pipeline-topics.js';
import { createKafkaProducer } from '../../platform/kafka/producer.js';
import { createLogger } from '../../platform/logging/logger.js';
import { loadSources } from '../../platform/segment/sources-file.js';
import { indexSourcesByWriteKey } from '../../platform/segment/source-config.js';
import { createKafkaTouchpointSink } from '../../platform/kafka/touchpoint-sink.js';
import { ImportEnv, parseImportArgs } from './config.js';
import { historyLines } from './history-file.js';
import { historyMarkerRecords, importLines, type ImportProgress } from './importer.js';
import { partitionCount } from '../../platform/kafka/admin.js';
import type { TouchpointSink } from '../../platform/segment/sink.js';
import { importProgressFile } from './progress-file.js';
import { progressLine } from './progress-line.js';
import { commandExitCode } from '../../platform/runtime/run-command.js';
import { heldLaneMessage, localLaneFile, newImportRun, openImport } from './lane.js';
import type { ImportRun } from '../../../schemas/history-marker.js';

/** The exit code of an import refused because another holds the history lane. */
const LANE_HELD = 3;

/**
 * `npm run import -- [--source <writeKey>] <file or folder>... [--live-topic]`: history into the
 * pipeline (README, "Load your history"). Wires config → Kafka → the collector's sink →
 * importLines, per file; by default into the history lane (`touchpoints-history`), closed at the
 * end with a `history-end` marker on every partition (docs/history-lane.md). Refused (exit code 3)
 * while another import holds the lane (lane.ts); `--close-lane` gives up an interrupted one.
 */
async function main(): Promise<number> {
  const config = parseEnv(ImportEnv, process.env);
  const args = parseImportArgs(process.argv.slice(2));
  const sources = indexSourcesByWriteKey(loadSources(config.COLLECTOR_SOURCES_FILE));
  const source = args.writeKey === null ? null : sources.get(args.writeKey);
  if (source === undefined) throw new ConfigError([`--source: no source has this write key in ${config.COLLECTOR_SOURCES_FILE}`]);
  const files = args.paths.flatMap((p) => (statSync(p).isDirectory() ? readdirSync(p).sort().map((f) => join(p, f)).filter((f) => statSync(f).isFile()) : [p]));
  const logger = createLogger('import', config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL);
  const topics = topicsWithPrefix(config.KAFKA_TOPIC_PREFIX);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: 'journey-import', logger });
  await pipelineTopicsSetup(kafka, topics, config.KAFKA_PARTITIONS).start();
  const historyTopic = topics.touchpointsHistory;
  const lane = localLaneFile(config.DATA_DIR, historyTopic);
  // One import at a time (lane.ts): refused while another holds the lane, unless it is this
  // machine's own interrupted run, which then goes on under its name.
  let run: ImportRun | null = null;
  if (!args.liveTopic && !args.closeLane) {
    const held = await openImport(kafka, historyTopic);
    const mine = lane.load();
    if (held !== null && (mine === null || held.begin?.run?.id !== mine.id)) {
      process.stderr.write(`import refused: ${heldLaneMessage(historyTopic, held, Date.now())}\n`);
      return LANE_HELD;
    }
    run = held !== null && mine !== null ? mine : newImportRun(files, Date.now());
  }
  const producer = createKafkaProducer(kafka, { name: 'import' });
  await producer.start();
  /** An end marker on every partition of the lane: the import is over, the lane free for the next. */
  const closeLane = async (partitions: number) => {
    await producer.send(historyMarkerRecords(historyTopic, partitions, { kind: 'end' }));
    lane.clear();
    process.stdout.write(`history lane closed: an end marker on each of the ${partitions} partitions of ${historyTopic}\n`);
  };
  if (args.closeLane) {
    try {
      await closeLane(await partitionCount(kafka, historyTopic));
    } finally {
      await producer.stop();
    }
    return 0;
  }
  const kafkaSink = createKafkaTouchpointSink({
    producer,
    topics,
    touchpointsTopic: args.liveTopic ? topics.touchpoints : topics.touchpointsHistory,
    touchpointCodec: topicCodecs.touchpoints(),
    deadLetterCodec: topicCodecs.deadLetter(),
    sendTimeoutMs: 120_000,
    maxInFlightEvents: 10_000_000,
    maxInFlightBytes: 1024 * 1024 * 1024,
  });
  const historyPartitions = args.liveTopic ? 0 : await partitionCount(kafka, historyTopic);
  let begun = false;
  const sink: TouchpointSink = {
    async send(batch) {
      // The lane opens before the run's first touchpoint, at the earliest time of its first chunk.
      if (!begun && run !== null && batch.touchpoints.length > 0) {
        const firstEventTime = Math.min(...batch.touchpoints.map((tp) => tp.timestamp));
        lane.save(run);
        await producer.send(historyMarkerRecords(historyTopic, historyPartitions, { kind: 'begin', firstEventTime, run }));
        begun = true;
      }
      return kafkaSink.send(batch);
    },
  };
  const out = process.stderr;
  try {
    for (const file of files) {
      const saved = importProgressFile(config.DATA_DIR, file, source?.sourceId ?? '(per line)');
      const before = saved.load();
      if (before?.done && !args.force) {
        process.stdout.write(`${file}: imported before (${summary(before.progress)}); nothing to do (--force imports it again)\n`);
        continue;
      }
      const resumeAt = before && !before.done && !args.force ? before.progress : undefined;
      if (resumeAt) out.write(`${file}: resuming after line ${resumeAt.lines.toLocaleString('en')}\n`);
      const started = Date.now();
      const startedBytes = resumeAt?.bytesRead ?? 0;
      const startedEvents = resumeAt ? resumeAt.accepted + resumeAt.rejected : 0;
      let shownAt = 0;
      const show = (p: ImportProgress, force = false) => {
        const now = Date.now();
        if (!force && now - shownAt < (out.isTTY ? 250 : 5_000)) return;
        shownAt = now;
        const line = progressLine(file, p, saved.size, startedBytes, startedEvents, now - started);
        out.write(out.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
      };
      const result = await importLines(historyLines(file), {
        source,
        sources,
        sink,
        resumeAt,
        now: Date.now,
        onChunk: (p) => {
          saved.save(p, false);
          show(p);
        },
      });
      saved.save(result, true);
      show(result, true);
      if (out.isTTY) out.write('\n');
      // The summary on stdout (progress went to stderr): what a script reading the result wants.
      process.stdout.write(`${file}: ${summary(result)}\n`);
      for (const [reason, n] of Object.entries(result.reasons).sort((a, b) => b[1] - a[1]).slice(0, 10)) process.stdout.write(`  rejected ${n.toLocaleString('en')}: ${reason}\n`);
    }
    if (!args.liveTopic) await closeLane(historyPartitions);
  } finally {
    await producer.stop();
  }
  return 0;
}

const summary = (p: ImportProgress) =>
  `${p.accepted.toLocaleString('en')} accepted, ${p.rejected.toLocaleString('en')} rejected (dead-lettered), ${p.duplicates.toLocaleString('en')} duplicates of an earlier line, ${p.lines.toLocaleString('en')} lines`;

process.exitCode = await commandExitCode('import', main, process.stderr);
