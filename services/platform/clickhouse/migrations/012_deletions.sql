-- Deletion requests (forget a customer, README: Privacy): who asked, when, for which id, whether
-- to suppress, which ids were found linked, how many rows each table lost, and when it finished.
-- A deletion is written as versions of one row: 1 requested (pending), 2 resolved (pending, with
-- the linked ids so a restarted executor erases exactly them), 3 finished (done or not_found).
-- ReplacingMergeTree(version): the highest version is the deletion's state (read with FINAL).
-- Raw ids (requested_id, ids) live only in the pending versions: the finished version keeps their
-- SHA-256 (requested_id_hash, id_hashes), and the executor deletes the pending versions once it is
-- written, so the audit trail outlives the customer's ids. No TTL: the trail is the proof.
CREATE TABLE IF NOT EXISTS {db}.deletions{local} {on_cluster}
(
  deletion_id String,
  version UInt8,
  status Enum8('pending' = 1, 'done' = 2, 'not_found' = 3),
  requested_by String,
  requested_at DateTime64(3, 'UTC'),
  id_kind LowCardinality(String),
  requested_id String,
  requested_id_hash String,
  suppress Bool,
  ids Array(String),
  id_hashes Array(String),
  deleted_rows Map(LowCardinality(String), UInt64),
  finished_at Nullable(DateTime64(3, 'UTC'))
)
ENGINE = ReplacingMergeTree(version)
ORDER BY deletion_id
SETTINGS non_replicated_deduplication_window = 10000;

{cluster_only} CREATE TABLE IF NOT EXISTS {db}.deletions {on_cluster} AS {db}.deletions_local
ENGINE = Distributed({cluster}, '{db}', 'deletions_local', cityHash64(deletion_id));
