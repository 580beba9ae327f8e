// Feeds the edge vectors (test/lib/edge-vectors.ts) to the CloudFront Function's handler under njs.
// Run as `njs -u -t module -p <modules> lib/edge/viewer-auth.js <vectors.json> <results.json>`: the function file
// is njs's main module, byte for byte, and reaches this file through its `cloudfront` import (./cloudfront.js).
// Written for njs 0.7: no for-of, destructuring, spread or `await` inside a call's arguments.
import fs from 'fs';

// The KeyValueStore of the vector being run: { values: { key: value }, broken: boolean }.
var store = { values: {}, broken: false };

// cf.kvs(): like CloudFront's, get() returns a promise that rejects for a missing key or an unreachable store.
function kvs(id) {
  if (id !== undefined) throw new Error('the function must use the associated store: cf.kvs() with no id');
  return {
    get: function (key) {
      if (store.broken) return Promise.reject(new Error('store unreachable'));
      if (!Object.prototype.hasOwnProperty.call(store.values, key)) return Promise.reject(new Error('Key not found'));
      return Promise.resolve(store.values[key]);
    },
  };
}

// The origin groups the event being run asked for, as given to cf.createRequestOriginGroup (deep copies).
var originGroups = [];

function createRequestOriginGroup(group) {
  originGroups.push(JSON.parse(JSON.stringify(group)));
}

// The function's events in order, each awaited before the next, all against the vector's store; with each answer,
// the origin groups its event asked for.
async function runVector(handler, vector) {
  store = vector.store;
  var responses = [];
  var groups = [];
  for (var i = 0; i < vector.events.length; i++) {
    originGroups = [];
    var response = await handler(vector.events[i]); // njs 0.7 refuses `await` in arguments (it crashes in a loop)
    responses.push(response);
    groups.push(originGroups);
  }
  return { responses: responses, originGroups: groups };
}

async function runVectors() {
  // njs puts a main module's top-level function declarations on the global object, which is where a host looks up
  // `handler`; a function that stopped declaring it (or failed to load) fails every vector here.
  var handler = globalThis.handler;
  if (typeof handler !== 'function') throw new Error('the function file declares no top-level handler(event)');
  var vectors = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  var results = {};
  for (var i = 0; i < vectors.length; i++) {
    try {
      results[vectors[i].name] = await runVector(handler, vectors[i]);
    } catch (e) {
      results[vectors[i].name] = { error: String(e) };
    }
  }
  fs.writeFileSync(process.argv[3], JSON.stringify(results));
}

// A promise job runs only after the main module's top level, so the function has declared handler by then.
// A rejection here is unhandled: njs prints it and exits non-zero, which the runner reports.
Promise.resolve().then(runVectors);

export default { kvs: kvs, createRequestOriginGroup: createRequestOriginGroup };
