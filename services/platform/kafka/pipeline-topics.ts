import { TOPIC_NAMES, type TopicKey, type Topics } from '../../../schemas/topics.js';
import type { Kafka } from 'kafkajs';
import type { Component } from '../runtime/component.js';
import { ensureTopics, type TopicSpec } from './admin.js';

/**
 * Every topic of the pipeline with its partitioning. Changelogs are compacted. The identity-links
 * changelog has ONE partition: every instance applies links in the same total order, so every
 * instance's identity graph picks the same canonical customer id.
 */
export function pipelineTopicSpecs(topics: Topics, partitions: number): TopicSpec[] {
  return (Object.keys(TOPIC_NAMES) as TopicKey[]).map((key) => ({
    topic: topics[key],
    partitions: key === 'identityLinks' || key === 'forgottenIds' ? 1 : partitions,
    compacted: key.endsWith('Changelog') || key === 'identityLinks' || key === 'forgottenIds',
  }));
}

/**
 * The topics whose records travel in bundles (record-bundle.ts): the repartition topic and the
 * journey step's outputs to the writer, which carry several records per touchpoint. Never a
 * compacted topic (compaction keeps one record per Kafka key); not `touchpoints` (the input every
 * source writes), not the dead letters, alerts or churn alerts (read by people and hand-offs, and few).
 */
export function bundledTopics(topics: Topics): ReadonlySet<string> {
  return new Set([topics.identifiedTouchpoints, topics.customerTouchpoints, topics.sessions, topics.stageTransitions, topics.funnelEvents, topics.churnScores, topics.attribution]);
}

/** A start step that creates the pipeline's missing topics (every service runs it; it is idempotent). */
export function pipelineTopicsSetup(kafka: Kafka, topics: Topics, partitions: number): Component {
  return {
    name: 'topics',
    start: () => ensureTopics(kafka, pipelineTopicSpecs(topics, partitions)),
    stop: async () => {},
    health: () => ({ ok: true }),
  };
}
