// The field's crawler detectors on the benchmark's user agents (bench/edge_crawlers.py), pinned in package-lock.json.
//
//   node bench/node/detectors.mjs < user_agents.jsonl > verdicts.jsonl
//
// Each input line is a JSON string (a user agent); each output line is {"isbot": bool, "ua-parser-js": bool}.
import readline from 'node:readline';
import { isbot } from 'isbot';
import { isBot } from 'ua-parser-js/bot-detection';

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
const out = [];
for await (const line of lines) {
  if (!line.trim()) continue;
  const ua = JSON.parse(line);
  out.push(JSON.stringify({ isbot: isbot(ua), 'ua-parser-js': isBot(ua) }));
  if (out.length >= 10000) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length) process.stdout.write(out.join('\n') + '\n');
