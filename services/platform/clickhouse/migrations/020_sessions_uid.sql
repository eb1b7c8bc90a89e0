-- Sessions keyed by a 128-bit id. session_id is the 53-bit hash of the first event's messageId:
-- among 100 million sessions two share one with a chance of about 2 in 5, and ReplacingMergeTree
-- would let the later one replace the other. session_uid is the sessionizer's 128-bit key of the same session
-- (UUID text of the first event's time in ms, then that hash; session.v2.avsc), the same for every
-- version of a session, so the replacing key (session_id, session_uid) keeps two sessions apart
-- unless their first events share the millisecond and the hash.
-- ClickHouse lets a sort key grow only by columns added in the same ALTER, without a default, and
-- a sort-key column cannot be updated: rows written before this migration keep session_uid = 0
-- (00000000-0000-0000-0000-000000000000) and their 53-bit key. A session open across the upgrade
-- has one such row (its last version before) next to its rows under the 128-bit key; the query API
-- and `npm run verify` read the newest version per (session_id, session_uid), docs/clickhouse.md
-- says how to remove those old rows. On a cluster the Distributed table gets the column too; it
-- still shards by session_id, which every version of a session shares.
ALTER TABLE {db}.sessions{local} {on_cluster}
  ADD COLUMN session_uid UUID AFTER session_id,
  MODIFY ORDER BY (session_id, session_uid);

{cluster_only} ALTER TABLE {db}.sessions {on_cluster} ADD COLUMN session_uid UUID AFTER session_id;
