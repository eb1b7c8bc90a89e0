-- The per-customer tables (migrations 032-034) store their parts in the compact format: all columns
-- in one file, and each column of each granule compressed as its own block. In the wide format (the
-- default above 10 MB a part) a column's file is compressed in blocks of 64 KB-1 MB, so reading one
-- customer's granule decompressed the whole block around it in every column and part: a timeline
-- page (18 columns) decompressed ~2.6 MB for 50 rows, and opened ~125 files. Measured on the
-- embedded engine at 10 M touchpoints (copies of touchpoints_by_customer merged to one part each,
-- the page read for the same 150 customers interleaved; docs/performance.md, "Customer lookups: what
-- a query costs"): CPU p50 9.6 -> 5.2 ms, ~370 KB decompressed, +3% on disk. A compact part reads
-- poorly for a scan of a few columns, which these tables never serve: every read is one customer's
-- rows by the sort key.
-- The wide-part thresholds are never reached, so every part, merged or inserted, is compact. A setting
-- change applies to parts written after it: OPTIMIZE ... FINAL rewrites the existing ones now (on a
-- large install it rewrites the tables once, about as long as migration 033's backfill; on a fresh
-- one the tables are empty).
ALTER TABLE {db}.customer_id_links{local} {on_cluster} MODIFY SETTING min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000;

ALTER TABLE {db}.touchpoints_by_customer{local} {on_cluster} MODIFY SETTING min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000;

ALTER TABLE {db}.stage_transitions_by_customer{local} {on_cluster} MODIFY SETTING min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000;

ALTER TABLE {db}.sessions_by_customer{local} {on_cluster} MODIFY SETTING min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000;

ALTER TABLE {db}.customer_summary{local} {on_cluster} MODIFY SETTING min_bytes_for_wide_part = 1000000000000, min_rows_for_wide_part = 1000000000000;

OPTIMIZE TABLE {db}.customer_id_links{local} {on_cluster} FINAL;

OPTIMIZE TABLE {db}.touchpoints_by_customer{local} {on_cluster} FINAL;

OPTIMIZE TABLE {db}.stage_transitions_by_customer{local} {on_cluster} FINAL;

OPTIMIZE TABLE {db}.sessions_by_customer{local} {on_cluster} FINAL;

OPTIMIZE TABLE {db}.customer_summary{local} {on_cluster} FINAL;
