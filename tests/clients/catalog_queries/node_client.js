// node-postgres client driven by record.sh. Usage: node node_client.js PORT (needs `pg` on NODE_PATH).
// `SELECT 'EDDY-MARK: ...'` statements only label the server log; extract.py drops them.
const { Client } = require('pg');
const port = parseInt(process.argv[2], 10);

(async () => {
  console.log('pg', require('pg/package.json').version, 'node', process.version);
  const client = new Client({ host: '127.0.0.1', port, user: 'eddy', database: 'eddy' });
  await client.connect();
  const mark = (label) => client.query(`SELECT 'EDDY-MARK: ${label.replace(/'/g, "''")}'`);
  const show = (res) => {
    console.log('command', res.command, 'rowCount', res.rowCount);
    for (const f of res.fields) {
      console.log('  field', JSON.stringify({ name: f.name, tableID: f.tableID, columnID: f.columnID,
        dataTypeID: f.dataTypeID, dataTypeSize: f.dataTypeSize, dataTypeModifier: f.dataTypeModifier,
        format: f.format }));
    }
    for (const r of res.rows) console.log('  row', JSON.stringify(r));
  };
  await mark('client.query(text) simple protocol');
  show(await client.query('SELECT * FROM default_database.orders ORDER BY id'));
  await mark('client.query(text, [1]) extended protocol');
  show(await client.query('SELECT * FROM default_database.orders WHERE id = $1', [1]));
  await mark('client.query({name}) named prepared statement, run twice');
  for (let i = 0; i < 2; i++) {
    show(await client.query({ name: 'by_id', text: 'SELECT id, price FROM default_database.orders WHERE id = $1', values: [2] }));
  }
  await client.end();
})().catch((e) => { console.error('ERROR', e); process.exit(1); });
