import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { topicsWithPrefix, type Topics } from '../../schemas/topics.js';

/** Broker list for this test run (decided once in global-setup). */
export function testBrokers(): string[] {
  return inject('kafkaBrokers').split(',');
}

/** Unique topic names per test, so tests never see each other's messages (kafkajs testHelpers style). */
export function uniqueTopics(prefix = uniquePrefix()): Topics {
  return topicsWithPrefix(prefix);
}

export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}.`;
}

export function uniqueGroupId(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}
