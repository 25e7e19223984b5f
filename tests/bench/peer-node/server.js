// tests/bench/peer-node/server.js — the Node.js peer of the OneGrid benchmark.
//
// What it is for: endpoints 2-4 of the benchmark (resident by id, a grid's
// list, name search) written the way a Node.js team would write them with
// fastify and node-postgres, against the same database and doing the same
// work as onegridd: bearer-token check against core.token (SHA-256 of the
// token), the caller's role permissions, the scope filter (the row's grid
// path under the caller's ltree scope path; outside scope is a 404),
// masking of ID number and phone without residents.read_sensitive, and an
// audit row for every unmasked read.  See README.md.
//
// What it is not for: anything else of the API (writes, paging cursors
// beyond ?cursor=<last id>, validation of every parameter).
//
// Environment: PORT, PGHOST (socket dir), PGDATABASE, PGUSER, WORKERS
// (default: the number of CPUs), POOL (pg pool size per worker, default 10,
// node-postgres's own default).
'use strict';

const cluster = require('node:cluster');
const os = require('node:os');
const crypto = require('node:crypto');

const WORKERS = parseInt(process.env.WORKERS || '0', 10) || os.cpus().length;

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on('exit', (w, code) => {
    if (code !== 0) console.error(`worker ${w.process.pid} exited with ${code}`);
  });
  return;
}

const fastify = require('fastify')({ logger: false });
const { Pool, types } = require('pg');

// bigint ids as numbers, as the API returns them (ids stay below 2^53).
types.setTypeParser(20, (v) => parseInt(v, 10));

const pool = new Pool({ max: parseInt(process.env.POOL || '10', 10) });
pool.on('connect', (c) => c.query("SET TIME ZONE 'Asia/Shanghai'"));

const AUTH_SQL = `
  SELECT u.id, u.username, u.role, coalesce(r.path::text, '') AS scope,
         array(SELECT rp.permission FROM core.role_permission rp WHERE rp.role = u.role) AS perms
  FROM core.token t
  JOIN core.app_user u ON u.id = t.user_id AND u.active
  LEFT JOIN core.region r ON r.id = u.scope_region_id
  WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL`;

const COLUMNS = `x.id, x.name, x.id_type, x.id_number, x.gender,
  to_char(x.birth_date, 'YYYY-MM-DD') AS birth_date,
  date_part('year', age(current_date, x.birth_date))::int AS age,
  x.ethnicity, x.phone, x.residence_status, x.registered_province, x.grid_id,
  x.household_id, x.relation, x.life_status,
  to_char(x.life_status_date, 'YYYY-MM-DD') AS life_status_date,
  array(SELECT t.tag FROM core.resident_tag t WHERE t.resident_id = x.id ORDER BY t.tag) AS tags,
  x.version, x.created_at, x.updated_at`;

const GET_SQL = `SELECT ${COLUMNS} FROM core.resident x JOIN core.region g ON g.id = x.grid_id
  WHERE x.id = $1 AND ($2 = '' OR g.path <@ $2::ltree)`;

const AUDIT_SQL = `INSERT INTO core.audit (user_id, username, action, entity, entity_id,
    region_path, after)
  VALUES ($1, $2, 'read_sensitive', 'resident', $3,
    (SELECT path FROM core.region WHERE id = $4), $5)`;

function maskId(s) {
  return s && s.length > 10 ? s.slice(0, 6) + '*'.repeat(s.length - 10) + s.slice(-4) : s;
}
function maskPhone(s) {
  return s && s.length >= 11 ? s.slice(0, 3) + '****' + s.slice(-4) : s;
}

function fail(reply, status, code, message, field) {
  return reply.code(status).send({ error: { code, message, field: field || null } });
}

// The caller of a request, or null after the 401 reply.
async function authenticate(request, reply) {
  const h = request.headers.authorization || '';
  const m = /^Bearer ([0-9a-f]{64})$/.exec(h);
  if (!m) {
    fail(reply, 401, 'unauthorized', 'missing or malformed bearer token');
    return null;
  }
  const hash = crypto.createHash('sha256').update(m[1]).digest();
  const { rows } = await pool.query(AUTH_SQL, [hash]);
  if (rows.length !== 1) {
    fail(reply, 401, 'invalid_token', 'invalid or expired token');
    return null;
  }
  const u = rows[0];
  u.perms = new Set(u.perms);
  u.sensitive = u.perms.has('residents.read_sensitive');
  if (!u.perms.has('residents.read')) {
    fail(reply, 403, 'forbidden', 'missing permission residents.read');
    return null;
  }
  return u;
}

fastify.get('/api/v1/residents/:id', async (request, reply) => {
  const user = await authenticate(request, reply);
  if (!user) return reply;
  const id = Number(request.params.id);
  if (!Number.isSafeInteger(id) || id <= 0) return fail(reply, 404, 'not_found', 'no such resident');
  const { rows } = await pool.query(GET_SQL, [id, user.scope]);
  if (rows.length === 0) return fail(reply, 404, 'not_found', 'no such resident');
  const r = rows[0];
  if (!user.sensitive) {
    r.id_number = maskId(r.id_number);
    r.phone = maskPhone(r.phone);
  } else if (r.id_number || r.phone) {
    const fields = [];
    if (r.id_number) fields.push('id_number');
    if (r.phone) fields.push('phone');
    await pool.query(AUDIT_SQL,
      [user.id, user.username, String(r.id), r.grid_id, JSON.stringify({ fields })]);
  }
  return r;
});

fastify.get('/api/v1/residents', async (request, reply) => {
  const user = await authenticate(request, reply);
  if (!user) return reply;
  const q = request.query;
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    return fail(reply, 422, 'invalid', 'limit must be 1..500', 'limit');
  const cursor = q.cursor === undefined ? 0 : Number(q.cursor);
  const region = q.region === undefined ? null : Number(q.region);
  let pattern = null;
  if (q.q) pattern = '%' + q.q.trim().replace(/[\\%_]/g, '\\$&') + '%';
  if (region !== null) {
    const ok = await pool.query(
      "SELECT 1 FROM core.region WHERE id = $1 AND ($2 = '' OR path <@ $2::ltree)",
      [region, user.scope]);
    if (ok.rows.length === 0) return fail(reply, 404, 'not_found', 'no such region', 'region');
  }
  // The WHERE clause grows with the filters given, as a query builder would.
  const where = ["x.life_status = 'active'", 'x.id > $1'];
  const values = [cursor];
  if (user.scope !== '') {
    values.push(user.scope);
    where.push(`g.path <@ $${values.length}::ltree`);
  }
  if (region !== null) {
    values.push(region);
    where.push(`g.path <@ (SELECT path FROM core.region WHERE id = $${values.length})`);
  }
  if (pattern !== null) {
    values.push(pattern);
    where.push(`x.name ILIKE $${values.length}`);
  }
  values.push(limit + 1);
  const { rows } = await pool.query(
    `SELECT ${COLUMNS} FROM core.resident x JOIN core.region g ON g.id = x.grid_id
     WHERE ${where.join(' AND ')} ORDER BY x.id LIMIT $${values.length}`,
    values,
  );
  let next = null;
  if (rows.length > limit) {
    rows.pop();
    next = String(rows[rows.length - 1].id);
  }
  if (!user.sensitive) {
    for (const r of rows) {
      r.id_number = maskId(r.id_number);
      r.phone = maskPhone(r.phone);
    }
  } else {
    const ids = rows.filter((r) => r.id_number || r.phone).map((r) => r.id);
    if (ids.length > 0) {
      await pool.query(AUDIT_SQL,
        [user.id, user.username, null, rows[0].grid_id, JSON.stringify({ ids })]);
    }
  }
  return { items: rows, next_cursor: next };
});

fastify.get('/healthz', async () => {
  await pool.query('SELECT 1');
  return { status: 'ok', database: 'ok' };
});

fastify.listen({ port: parseInt(process.env.PORT || '3000', 10), host: '127.0.0.1' }, (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
});
