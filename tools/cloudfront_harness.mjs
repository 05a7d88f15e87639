// Runs a CloudFront Function (cloudfront-js-2.0) in Node against CloudFront's event shape, with a stub of the
// 'cloudfront' module that serves KeyValueStore entries and records the origin the function chose.
//
//   node tools/cloudfront_harness.mjs FUNCTION.js KVS.json < events.jsonl > results.jsonl
//
// KVS.json maps key -> value (strings, as the stack writes them). Each output line is
// {"result": <what the handler returned>, "calls": [{"select": id} | {"group": {...}} | {"update": {...}}]}.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { pathToFileURL } from 'node:url';

const [functionPath, kvsPath, mode] = process.argv.slice(2);
// --calls-only: each line is {"calls": [...]} without the handler's result (the benchmark's 200,000 requests)
const callsOnly = mode === '--calls-only';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cloudfront-function-'));
const stubDir = path.join(dir, 'node_modules', 'cloudfront');
fs.mkdirSync(stubDir, { recursive: true });
fs.writeFileSync(path.join(stubDir, 'package.json'), JSON.stringify({ name: 'cloudfront', type: 'module', main: 'index.js' }));
fs.writeFileSync(
  path.join(stubDir, 'index.js'),
  `const state = globalThis.__cloudfront;
export default {
  kvs() {
    return {
      async get(key, options) {
        if (!Object.prototype.hasOwnProperty.call(state.kvs, key)) throw new Error('KeyNotFound: ' + key);
        const value = state.kvs[key];
        return options && options.format === 'json' ? JSON.parse(value) : value;
      },
      async exists(key) { return Object.prototype.hasOwnProperty.call(state.kvs, key); },
    };
  },
  selectRequestOriginById(id) { state.calls.push({ select: id }); },
  createRequestOriginGroup(params) { state.calls.push({ group: params }); },
  updateRequestOrigin(params) { state.calls.push({ update: params }); },
};
`,
);
// The function's code as CloudFront gets it; `handler` is a top-level declaration there, exported here.
fs.writeFileSync(path.join(dir, 'function.mjs'), fs.readFileSync(functionPath, 'utf8') + '\nexport { handler };\n');
globalThis.__cloudfront = { kvs: JSON.parse(fs.readFileSync(kvsPath, 'utf8')), calls: [] };
const { handler } = await import(pathToFileURL(path.join(dir, 'function.mjs')).href);

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  globalThis.__cloudfront.calls = [];
  const result = await handler(JSON.parse(line));
  const calls = globalThis.__cloudfront.calls;
  process.stdout.write(JSON.stringify(callsOnly ? { calls } : { result, calls }) + '\n');
}
fs.rmSync(dir, { recursive: true, force: true });
