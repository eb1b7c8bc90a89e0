import { randomUUID } from 'node:crypto';
import type { ClickHouse } from '../clickhouse/client.js';
import { chDateTime64 } from '../clickhouse/rows.js';
import { forgottenIdHash } from './forgotten-ids.js';
import { namespacedIdOf, type DeletionAsk, type DeletionStatus, type IdKind } from './deletion-request.js';

/** A deletion as anyone may see it: no raw id, only hashes (README: Privacy). */
export interface DeletionView {
  deletionId: string;
  status: DeletionStatus;
  requestedBy: string;
  requestedAt: number;
  idKind: IdKind;
  suppress: boolean;
  /** How many linked ids were found (0 until resolved). */
  ids: number;
  deletedRows: Record<string, number>;
  finishedAt: number | null;
}

/** A deletion the executor still has to finish, with its raw ids (only pending versions hold them). */
export interface PendingDeletion {
  deletionId: string;
  version: number;
  requestedBy: string;
  requestedAt: number;
  idKind: IdKind;
  /** The namespaced id asked for (`u:…`, `a:…`, `e:<email hash>`). */
  requestedId: string;
  suppress: boolean;
  /** The linked ids, once resolved (version 2); empty before. */
  ids: string[];
}

interface Row {
  deletion_id: string;
  version: number;
  status: DeletionStatus;
  requested_by: string;
  requested_at_ms: number | string;
  id_kind: IdKind;
  requested_id: string;
  suppress: boolean | number;
  ids: string[];
  id_hashes: string[];
  deleted_rows: Record<string, number | string>;
  finished_at_ms: number | string | null;
}

const COLUMNS = `deletion_id, version, toString(status) AS status, requested_by, toUnixTimestamp64Milli(requested_at) AS requested_at_ms, id_kind,
  requested_id, suppress, ids, id_hashes, deleted_rows, if(isNull(finished_at), NULL, toUnixTimestamp64Milli(assumeNotNull(finished_at))) AS finished_at_ms`;

/** At most this many pending deletions are taken per round (each is a few statements per table). */
const PENDING_PER_ROUND = 100;

/**
 * The `deletions` table (migration 010): requests go in as version 1 (pending), the executor adds
 * version 2 (the linked ids) and version 3 (finished), then deletes versions 1 and 2 so no raw id
 * outlives the deletion. Inserts carry an explicit empty deduplication token (docs/clickhouse.md:
 * embedded chdb keeps settings for the session).
 */
export function deletionsTable(ch: ClickHouse) {
  const table = `${ch.database}.deletions`;
  const insert = async (row: Record<string, unknown>) => {
    await ch.client.insert({ table, values: [row], format: 'JSONEachRow', clickhouse_settings: { insert_deduplication_token: '' } });
  };
  const select = async (where: string, params: Record<string, unknown>): Promise<Row[]> => {
    const rs = await ch.client.query({ query: `SELECT ${COLUMNS} FROM ${table} FINAL WHERE ${where} ORDER BY requested_at, deletion_id LIMIT ${PENDING_PER_ROUND}`, query_params: params, format: 'JSONEachRow' });
    return rs.json<Row>();
  };
  const baseRow = (d: PendingDeletion) => ({
    deletion_id: d.deletionId,
    requested_by: d.requestedBy,
    requested_at: chDateTime64(d.requestedAt),
    id_kind: d.idKind,
    requested_id_hash: forgottenIdHash(d.requestedId),
    suppress: d.suppress,
  });

  return {
    /** Records a request (pending); the writer's executor picks it up within WRITER_DELETIONS_POLL_MS. */
    async request(ask: DeletionAsk, now: number, deletionId = `del_${randomUUID()}`): Promise<DeletionView> {
      const pending: PendingDeletion = { deletionId, version: 1, requestedBy: ask.requestedBy, requestedAt: now, idKind: ask.kind, requestedId: namespacedIdOf(ask), suppress: ask.suppress, ids: [] };
      await insert({ ...baseRow(pending), version: 1, status: 'pending', requested_id: pending.requestedId, ids: [], id_hashes: [], deleted_rows: {}, finished_at: null });
      return { deletionId, status: 'pending', requestedBy: ask.requestedBy, requestedAt: now, idKind: ask.kind, suppress: ask.suppress, ids: 0, deletedRows: {}, finishedAt: null };
    },

    async read(deletionId: string): Promise<DeletionView | null> {
      const [row] = await select('deletion_id = {id:String}', { id: deletionId });
      if (row === undefined) return null;
      return {
        deletionId: row.deletion_id,
        status: row.status,
        requestedBy: row.requested_by,
        requestedAt: Number(row.requested_at_ms),
        idKind: row.id_kind,
        suppress: Boolean(row.suppress),
        ids: row.status === 'pending' ? row.ids.length : row.id_hashes.length,
        deletedRows: Object.fromEntries(Object.entries(row.deleted_rows).map(([k, v]) => [k, Number(v)])),
        finishedAt: row.finished_at_ms === null ? null : Number(row.finished_at_ms),
      };
    },

    async pending(): Promise<PendingDeletion[]> {
      const rows = await select(`status = 'pending'`, {});
      return rows.map((r) => ({
        deletionId: r.deletion_id,
        version: Number(r.version),
        requestedBy: r.requested_by,
        requestedAt: Number(r.requested_at_ms),
        idKind: r.id_kind,
        requestedId: r.requested_id,
        suppress: Boolean(r.suppress),
        ids: r.ids,
      }));
    },

    /** Version 2: the linked ids, so a restart erases exactly these even after the graph forgot them. */
    async resolved(d: PendingDeletion, ids: string[]): Promise<void> {
      await insert({ ...baseRow(d), version: 2, status: 'pending', requested_id: d.requestedId, ids, id_hashes: [], deleted_rows: {}, finished_at: null });
    },

    /**
     * Removes the pending versions (raw ids) of finished deletions, which a crash between the two
     * statements of `finished` leaves behind (the deletion reads done, so nothing would finish it
     * again). Returns how many deletions had some. The executor runs it once when it starts.
     */
    async removeFinishedPendingVersions(): Promise<number> {
      const rs = await ch.client.query({
        query: `SELECT DISTINCT deletion_id FROM ${table} WHERE version < 3 AND deletion_id IN (SELECT deletion_id FROM ${table} WHERE version = 3)`,
        format: 'JSONEachRow',
      });
      const ids = (await rs.json<{ deletion_id: string }>()).map((r) => r.deletion_id);
      if (ids.length > 0) await ch.client.command({ query: `DELETE FROM ${table} WHERE version < 3 AND deletion_id IN {ids:Array(String)}`, query_params: { ids } });
      return ids.length;
    },

    /** Version 3, then the pending versions go: only hashes remain. */
    async finished(d: PendingDeletion, outcome: { status: Exclude<DeletionStatus, 'pending'>; ids: string[]; deletedRows: Record<string, number>; at: number }): Promise<void> {
      await insert({
        ...baseRow(d),
        version: 3,
        status: outcome.status,
        requested_id: '',
        ids: [],
        id_hashes: outcome.ids.map(forgottenIdHash),
        deleted_rows: outcome.deletedRows,
        finished_at: chDateTime64(outcome.at),
      });
      await ch.client.command({ query: `DELETE FROM ${table} WHERE deletion_id = {id:String} AND version < 3`, query_params: { id: d.deletionId } });
    },
  };
}
export type DeletionsTable = ReturnType<typeof deletionsTable>;
