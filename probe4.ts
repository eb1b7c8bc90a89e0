import { createKafka } from './services/platform/kafka/client.js';
import { createLogger } from './services/platform/logging/logger.js';
const kafka = createKafka({ brokers: ['127.0.0.1:19092'], clientId: 'probe', logger: createLogger('p', 'error') });
const admin = kafka.admin(); await admin.connect();
const topics = (await admin.listTopics()).filter(t => /^f[a-z0-9]+[xc]\./.test(t));
const prefixes = [...new Set(topics.map(t => t.split('.')[0]))].sort();
for (const p of prefixes.slice(-2)) {
  for (const t of ['touchpoints', 'identified-touchpoints', 'customer-touchpoints', 'sessions', 'sessionizer-state-changelog']) {
    const o = await admin.fetchTopicOffsets(`${p}.${t}`);
    console.log(p, t, o.map(x => `${x.partition}:${x.low}-${x.high}`).join(' '));
  }
}
await admin.disconnect();
