/**
 * The end of an import on `touchpoints-history` (docs/history-lane.md): `npm run import` writes one
 * record like this to every partition when its files are done. Not a Touchpoint: the header says
 * what it is, the value (JSON) carries the import's last event time for people reading the topic.
 * The router passes it on as a notice that the partition's history is closed: the journey step
 * stops waiting for it, and its clock goes on with the live sources'.
 */
export const HISTORY_END_HEADER = 'jp-history-end';
export const HISTORY_END_KEY = '@history-end';

export const historyEndValue = (lastEventTime: number | null): Buffer => Buffer.from(JSON.stringify({ historyEnd: true, lastEventTime }));

/** Whether a record of `touchpoints-history` is an import's end marker (by its header). */
export const isHistoryEnd = (message: { headers?: Record<string, unknown> }): boolean => message.headers?.[HISTORY_END_HEADER] !== undefined;
