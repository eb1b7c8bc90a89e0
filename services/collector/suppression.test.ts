import { describe, expect, it } from 'vitest';
import { makeTouchpoint } from '../../schemas/test-touchpoint.js';
import { ForgottenIds, forgottenIdHash } from '../platform/privacy/forgotten-ids.js';
import type { SinkBatch } from '../platform/segment/sink.js';
import { suppressingSink } from './suppression.js';

describe('the collector suppression', () => {
  it('drops events naming a suppressed id before Kafka and counts them; plain deletions and others pass', async () => {
    const sent: SinkBatch[] = [];
    const forgotten = new ForgottenIds();
    forgotten.add(forgottenIdHash('a:dev-phone'), { deletionId: 'd1', at: 1, suppress: true });
    forgotten.add(forgottenIdHash('u:old'), { deletionId: 'd2', at: 1, suppress: false });
    let suppressed = 0;
    const sink = suppressingSink({ send: async (b) => void sent.push(b) }, forgotten, (n) => (suppressed += n));
    await sink.send({
      touchpoints: [
        makeTouchpoint({ messageId: 'm1', anonymousId: 'dev-phone' }),
        makeTouchpoint({ messageId: 'm2', anonymousId: 'other', userId: 'old', receivedAt: 5 }),
        makeTouchpoint({ messageId: 'm3', anonymousId: 'x', previousId: 'dev-phone', type: 'alias' }),
      ],
      deadLetters: [],
    });
    await sink.send({ touchpoints: [makeTouchpoint({ messageId: 'm4', anonymousId: 'dev-phone' })], deadLetters: [] });
    expect(sent.map((b) => b.touchpoints.map((t) => t.messageId))).toEqual([['m2']]);
    expect(suppressed).toBe(3);
  });
});
