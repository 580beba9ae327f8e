// Stand-in for cloudfront-js-2.0's `cloudfront` module, for test/lib/edge-viewer-auth.njs.test.ts. njs resolves
// `import cf from 'cloudfront'` to a file named exactly `cloudfront` on its module path (`njs -p DIR`), so the
// runner (test/helpers/njs-function-runner.ts) copies this file there under that name.
//
// It is also the harness's way in: viewer-auth.js runs unmodified as njs's main module and imports only this
// module and njs's own crypto, so importing the harness here is what queues the vectors to run once the
// function's top level has finished.
import harness from 'vector-harness.js';

// createRequestOriginGroup records what the function asks for (runtime 2.0's helper, DeveloperGuide/
// helper-functions-origin-modification.html); the vectors check it.
export default { kvs: harness.kvs, createRequestOriginGroup: harness.createRequestOriginGroup };
