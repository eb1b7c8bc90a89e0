// Runs one SQL query against an embedded ClickHouse data dir owned by no other live process and
// prints the rows as JSON. Tests use it to look into a service process's data after it exited.
import { createClickHouse } from '../../services/platform/clickhouse/client.js';

const [sql] = process.argv.slice(2);
const ch = createClickHouse({ database: 'default', dataDir: process.env.DATA_DIR ?? '.data' });
const rs = await ch.client.query({ query: sql!, format: 'JSONEachRow' });
process.stdout.write(JSON.stringify(await rs.json()));
await ch.close();
