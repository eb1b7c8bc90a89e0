import { touchpointIds } from '../platform/privacy/deletion-request.js';
import type { ForgottenIds } from '../platform/privacy/forgotten-ids.js';
import type { TouchpointSink } from '../platform/segment/sink.js';

/**
 * The collector's suppression (README: Privacy): touchpoints naming an id a deletion asked to
 * suppress are dropped before Kafka, counted by `onSuppressed`, and still answered as accepted (an
 * SDK must not retry them, and the answer does not tell anyone the id was erased). Dead letters
 * pass: they carry no stitched id, and the writer drops the ones keyed by a forgotten id.
 */
export function suppressingSink(sink: TouchpointSink, forgotten: ForgottenIds, onSuppressed: (n: number) => void): TouchpointSink {
  return {
    async send(batch) {
      if (forgotten.size === 0) return sink.send(batch);
      const touchpoints = batch.touchpoints.filter((tp) => !forgotten.suppresses(touchpointIds(tp)));
      if (touchpoints.length < batch.touchpoints.length) onSuppressed(batch.touchpoints.length - touchpoints.length);
      if (touchpoints.length === 0 && batch.deadLetters.length === 0) return;
      return sink.send({ touchpoints, deadLetters: batch.deadLetters });
    },
  };
}
