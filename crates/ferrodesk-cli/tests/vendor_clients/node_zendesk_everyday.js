// An everyday node-zendesk (6.0.1) integration against Ferrodesk's Zendesk-compatible API
// (`/zendesk/api/v2`), as an admin (email/token) and an end user.
//
// Environment: FD_BASE (http://127.0.0.1:PORT), FD_ADMIN_EMAIL, FD_ADMIN_TOKEN,
// FD_CUSTOMER_EMAIL, FD_CUSTOMER_TOKEN; NODE_PATH names the node_modules holding node-zendesk.
// Run by tests/vendor_clients.rs with node 20. Exits 1 when a check fails.
'use strict';

const zendesk = require('node-zendesk');
const {fetch, Response} = require('cross-fetch'); // node-zendesk's own transport, recorded below

function env(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is not set: this script is run by crates/ferrodesk-cli/tests/vendor_clients.rs`);
    process.exit(2);
  }
  return v;
}

const BASE = env('FD_BASE').replace(/\/$/, '');
const ADMIN_EMAIL = env('FD_ADMIN_EMAIL');
const ADMIN_TOKEN = env('FD_ADMIN_TOKEN');
const CUSTOMER_EMAIL = env('FD_CUSTOMER_EMAIL');
const CUSTOMER_TOKEN = env('FD_CUSTOMER_TOKEN');
const ENDPOINT = `${BASE}/zendesk/api/v2`;
const WORD = 'nodezd' + Array.from({length: 10}, () => 'abcdefghijklmnopqrstuvwxyz'[Math.floor(Math.random() * 26)]).join('');

// -- the last HTTP exchanges, printed with a failure ----------------------------------------------

const exchanges = [];
let requestCount = 0;
const clip = (s, n = 1500) => (s && s.length > n ? `${s.slice(0, n)}…(${s.length - n} more characters)` : s || '');
const transportConfig = {
  async transportFn(uri, options) {
    requestCount += 1;
    if (requestCount > 2000) throw new Error(`more than 2000 requests: a list does not end (last ${options.method} ${uri})`);
    const got = await fetch(uri, options);
    // Read the body once and hand node-zendesk an equal Response (node-fetch's clone() stalls
    // on bodies over 16 KiB unless both copies are read at once).
    const text = await got.text();
    const res = new Response(text, {status: got.status, statusText: got.statusText, headers: got.headers});
    exchanges.push(
      `${options.method} ${uri}${options.body ? `\n      body: ${clip(options.body, 600)}` : ''}\n      -> ${res.status} ${res.headers.get('content-type') || '(no content-type)'} ${clip(text)}`,
    );
    if (exchanges.length > 3) exchanges.shift();
    return res;
  },
  // node-zendesk's default adapter (src/clients/transporter.js).
  responseAdapter(res) {
    return {json: () => res.json(), status: res.status, headers: {get: (h) => res.headers.get(h)}, statusText: res.statusText};
  },
};

const client = (options) => zendesk.createClient({endpointUri: ENDPOINT, transportConfig, ...options});
const admin = client({username: ADMIN_EMAIL, token: ADMIN_TOKEN});
const customer = client({username: CUSTOMER_EMAIL, token: CUSTOMER_TOKEN});

// -- checks ---------------------------------------------------------------------------------------

const S = {};
const passed = [];
const failed = [];
const skipped = [];

function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

async function check(name, fn, needs = []) {
  const missing = needs.filter((n) => !(n in S));
  if (missing.length) {
    skipped.push(name);
    console.log(`SKIP  ${name} (needs ${missing.join(', ')} from a check that failed)`);
    return;
  }
  exchanges.length = 0;
  try {
    const detail = await fn();
    passed.push(name);
    console.log(`ok    ${name}${detail ? `: ${detail}` : ''}`);
  } catch (e) {
    failed.push(name);
    console.log(`FAIL  ${name}: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join('\n      ') : e}`);
    if (exchanges.length) {
      console.log('      last HTTP exchanges (oldest first):');
      for (const x of exchanges) console.log(`      ${x}`);
    }
  }
}

async function rejects(promise, what) {
  try {
    const got = await promise;
    throw new Error(`${what}: expected a rejection, got ${clip(JSON.stringify(got && got.result !== undefined ? got.result : got), 300)}`);
  } catch (e) {
    if (e.message && e.message.startsWith(`${what}: expected a rejection`)) throw e;
    return e;
  }
}

function distinctIds(items, what) {
  assert(Array.isArray(items), `${what} is an array: ${clip(JSON.stringify(items), 300)}`);
  const ids = items.map((x) => x.id);
  assert(ids.every(Number.isInteger), `${what}: integer ids`);
  assert(new Set(ids).size === ids.length, `${what}: nothing twice (${ids.length} ids, ${new Set(ids).size} distinct)`);
  return ids;
}

async function main() {
  await check('admin: users.me()', async () => {
    const {result: me} = await admin.users.me();
    assert(me.email.toLowerCase() === ADMIN_EMAIL.toLowerCase(), `me is the admin: ${me.email}`);
    assert(me.role === 'admin', `role admin: ${me.role}`);
    return `id ${me.id}`;
  });

  await check('admin: OAuth-style Bearer token', async () => {
    const {result: me} = await client({token: ADMIN_TOKEN, useOAuth: true}).users.me();
    assert(me.email.toLowerCase() === ADMIN_EMAIL.toLowerCase(), me.email);
    return 'Authorization: Bearer TOKEN accepted';
  });

  await check('customer: users.me()', async () => {
    const {result: me} = await customer.users.me();
    assert(me.email.toLowerCase() === CUSTOMER_EMAIL.toLowerCase(), me.email);
    assert(me.role === 'end-user', `role end-user: ${me.role}`);
    S.customerId = me.id;
    return `id ${me.id}`;
  });

  await check('admin: tickets.list() to the end', async () => {
    const before = requestCount;
    S.ticketsBefore = distinctIds(await admin.tickets.list(), 'tickets');
    assert(S.ticketsBefore.length > 0, 'the demo has tickets');
    return `${S.ticketsBefore.length} tickets in ${requestCount - before} request(s), stopped at links.next null`;
  });

  await check(
    'admin: tickets.create()',
    async () => {
      const {response, result: t} = await admin.tickets.create({
        ticket: {subject: `Projector ${WORD} flickers`, comment: {body: 'The projector in room 7 flickers.', public: true}, requester_id: S.customerId},
      });
      assert(response.status === 201, `201 Created: ${response.status}`);
      assert(Number.isInteger(t.id), `a ticket: ${clip(JSON.stringify(t), 300)}`);
      assert(t.subject.includes(WORD) && t.requester_id === S.customerId, `subject and requester: ${t.subject} ${t.requester_id}`);
      S.ticketId = t.id;
      return `ticket ${t.id} (status ${t.status})`;
    },
    ['customerId'],
  );

  // node-zendesk always asks for page[size]=100: more than 100 tickets make tickets.list()
  // follow links.next.
  await check(
    'admin: more than 100 tickets',
    async () => {
      const extra = Math.max(0, 101 - S.ticketsBefore.length - 1);
      S.extraIds = [];
      for (let i = 0; i < extra; i += 1) {
        const {result: t} = await admin.tickets.create({
          ticket: {subject: `Filler ${i} for paging`, comment: {body: 'Paging.', public: true}, requester_id: S.customerId},
        });
        S.extraIds.push(t.id);
      }
      return `created ${extra} more`;
    },
    ['ticketsBefore', 'ticketId'],
  );

  await check(
    'admin: tickets.list() again, over several pages',
    async () => {
      const before = requestCount;
      const ids = distinctIds(await admin.tickets.list(), 'tickets');
      const pages = requestCount - before;
      const want = S.ticketsBefore.length + 1 + S.extraIds.length;
      assert(ids.length === want, `${S.ticketsBefore.length} + 1 + ${S.extraIds.length} = ${want}, listed ${ids.length}`);
      assert(ids.includes(S.ticketId) && S.extraIds.every((i) => ids.includes(i)), 'the new tickets are listed');
      assert(pages >= 2, `several pages: ${pages} request(s)`);
      return `${ids.length} tickets in ${pages} pages, stopped at links.next null`;
    },
    ['ticketsBefore', 'ticketId', 'extraIds'],
  );

  await check(
    'admin: tickets.update() to pending with a private comment',
    async () => {
      const {result: t} = await admin.tickets.update(S.ticketId, {
        ticket: {status: 'pending', comment: {body: 'Internal: ordered a new lamp.', public: false}},
      });
      assert(t.id === S.ticketId && t.status === 'pending', `the updated ticket: ${t.id} ${t.status}`);
      const {result: again} = await admin.tickets.show(S.ticketId);
      assert(again.status === 'pending', `read back: ${again.status}`);
      return 'status pending';
    },
    ['ticketId'],
  );

  await check(
    'admin: tickets.getComments()',
    async () => {
      const comments = await admin.tickets.getComments(S.ticketId);
      const seen = comments.map((x) => [x.body, x.public]);
      assert(comments.length === 2, `description + note: ${JSON.stringify(seen)}`);
      assert(comments[0].body.includes('room 7') && comments[0].public === true, `first public: ${JSON.stringify(seen[0])}`);
      assert(comments[1].body.includes('new lamp') && comments[1].public === false, `second private: ${JSON.stringify(seen[1])}`);
      return JSON.stringify(seen);
    },
    ['ticketId'],
  );

  await check(
    'admin: search.query()',
    async () => {
      const {result} = await admin.search.query(`type:ticket ${WORD}`);
      assert(Array.isArray(result), `results: ${clip(JSON.stringify(result), 300)}`);
      const ids = result.map((r) => r.id);
      assert(ids.length === 1 && ids[0] === S.ticketId, `exactly the new ticket: ${JSON.stringify(ids)}`);
      assert(result[0].result_type === 'ticket', `result_type: ${result[0].result_type}`);
      return `'type:ticket ${WORD}' -> ${JSON.stringify(ids)}`;
    },
    ['ticketId'],
  );

  await check('admin: organizations.list()', async () => {
    const orgs = await admin.organizations.list();
    distinctIds(orgs, 'organizations');
    assert(orgs.length > 0, 'the demo has organizations');
    for (const o of orgs) assert(typeof o.shared_tickets === 'boolean' && typeof o.shared_comments === 'boolean', `sharing flags on ${o.name}`);
    return orgs.map((o) => o.name).join(', ');
  });

  await check('admin: groups.list()', async () => {
    const groups = await admin.groups.list();
    distinctIds(groups, 'groups');
    assert(groups.length > 0, 'the demo has groups');
    return groups.map((g) => g.name).join(', ');
  });

  await check('admin: missing ticket is a 404', async () => {
    const e = await rejects(admin.tickets.show(987654321), 'tickets.show(987654321)');
    assert(/\(404\)/.test(e.message), `message names 404: ${e.message}`);
    const raw = client({username: ADMIN_EMAIL, token: ADMIN_TOKEN, throwOriginalException: true});
    const e2 = await rejects(raw.tickets.show(987654321), 'tickets.show(987654321) with throwOriginalException');
    assert(e2.statusCode === 404, `statusCode 404: ${e2.statusCode}`);
    return e.message;
  });

  await check('wrong token is a 401', async () => {
    const bad = client({username: ADMIN_EMAIL, token: 'not-a-token', throwOriginalException: true});
    const e = await rejects(bad.users.me(), 'users.me() with a wrong token');
    assert(e.statusCode === 401, `statusCode 401: ${e.statusCode} ${e.message}`);
    return e.message;
  });

  await check('customer: tickets.list() is refused (agents only)', async () => {
    const raw = client({username: CUSTOMER_EMAIL, token: CUSTOMER_TOKEN, throwOriginalException: true});
    const e = await rejects(raw.tickets.list(), 'end user tickets.list()');
    assert(e.statusCode === 403, `statusCode 403: ${e.statusCode} ${e.message}`);
    return e.message;
  });

  console.log(`node_zendesk_everyday: ${passed.length} checks ok, ${failed.length} failed, ${skipped.length} skipped`);
  if (failed.length || skipped.length) {
    console.log(`node_zendesk_everyday: failed: ${failed.join('; ')}`);
    if (skipped.length) console.log(`node_zendesk_everyday: skipped: ${skipped.join('; ')}`);
    process.exit(1);
  }
}

// A list whose links.next never becomes null would make node-zendesk loop for ever.
const deadline = setTimeout(() => {
  console.log('node_zendesk_everyday: still running after 120 s; last HTTP exchanges:');
  for (const x of exchanges) console.log(`      ${x}`);
  process.exit(1);
}, 120000);
main()
  .catch((e) => {
    console.log(`node_zendesk_everyday: ${e.stack || e}`);
    process.exit(1);
  })
  .finally(() => clearTimeout(deadline));
