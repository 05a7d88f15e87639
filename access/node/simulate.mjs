// The access simulation's bridge to @cloud-copilot/iam-simulate (access/simulator.py runs it as a process).
// stdin: one simulation a line (JSON, in the library's own `Simulation` shape). stdout: one verdict a line, in
// order: the overall result, the statements that decided it, the context keys the simulator dropped, or the
// validation errors that kept it from deciding. No policy logic lives here: the library decides.
// A line at a time, both ways: at 200 services the batch was ~9,000 simulations, and holding them all parsed (with
// their verdicts) took 600 MB here (issue 33); streamed, only the library and one simulation are held.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import './collators.mjs' // first: the library's string comparisons go through it (see there)
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate'

// How a statement grants by wildcard: actions ("*", "<service>:*", NotAction) and resources ("*", NotResource).
function wildcards(statement) {
  const actions = statement.isActionStatement?.() ? statement.actions() : []
  const resources = statement.isResourceStatement?.() ? statement.resources() : []
  return {
    wildcardAction:
      Boolean(statement.isNotActionStatement?.()) || actions.some((a) => a.value() === '*' || a.value().endsWith(':*')),
    wildcardResource: Boolean(statement.isNotResourceStatement?.()) || resources.some((r) => r.value() === '*')
  }
}

// The statements that allowed: each policy layer's allow statements that matched, named as the library names them.
function grants(analysis) {
  const layers = [
    ['identity', analysis.identityAnalysis],
    ['resource', analysis.resourceAnalysis],
    ['permissionBoundary', analysis.permissionBoundaryAnalysis]
  ]
  const found = []
  for (const [policyType, layer] of layers) {
    for (const s of layer?.allowStatements ?? []) {
      found.push({
        policyType,
        policyIdentifier: s.policyId ?? '',
        statementId: s.statement.sid?.() ?? `#${s.statement.index?.()}`,
        ...wildcards(s.statement)
      })
    }
  }
  return found
}

function verdict(response) {
  if (response.resultType === 'error') {
    return { result: 'Error', errors: response.errors.message, detail: response.errors }
  }
  const results = response.resultType === 'single' ? [response.result] : response.results
  const decided = results.find((r) => r.analysis.result === response.overallResult) ?? results[0]
  if (!decided) return { result: response.overallResult, denials: [], grants: [], ignoredContextKeys: [] }
  const analysis = decided.analysis
  return {
    result: response.overallResult,
    denials: response.overallResult === 'Allowed' ? [] : getDenialReasons(analysis),
    grants: response.overallResult === 'Allowed' ? grants(analysis) : [],
    ignoredContextKeys: decided.ignoredContextKeys ?? []
  }
}

// The output is written a line at a time and waited on when the pipe is full, so a reader that is slower than
// the simulator never makes Node buffer every verdict.
async function write(line) {
  if (!process.stdout.write(line)) await new Promise((resolve) => process.stdout.once('drain', resolve))
}

// The same question gets the same answer: a verdict the rehearsal (below) already computed is not computed again.
// By the line's digest: a line kept as the key would keep the input's buffer it was cut from.
const rehearsed = new Map()
const digest = (line) => createHash('sha256').update(line).digest('base64')

async function answer(line) {
  const known = rehearsed.size > 0 ? rehearsed.get(digest(line)) : undefined
  await write((known ?? JSON.stringify(verdict(await runSimulation(JSON.parse(line), {})))) + '\n')
}

const input = createInterface({ input: process.stdin, crlfDelay: Infinity })
const lines = input[Symbol.asyncIterator]()
const first = lines.next()
let asked = false // the stack's own simulations have begun: the rehearsal gives way at once
first.then(() => (asked = true))

// The rehearsal (access/rehearsal.py), read from the file descriptor `--rehearsal-fd=N` names: simulations made
// while the program runs, so that V8 has compiled the library's paths before the stack's own simulations come
// (a cold process answered prod's at half the speed of a warm one: issue 33). A verdict of its is written only as
// the answer to the same question from the stack (`answer`).
const rehearsalFd = Number(process.argv.find((a) => a.startsWith('--rehearsal-fd='))?.split('=')[1] ?? NaN)
if (Number.isInteger(rehearsalFd)) {
  const stream = createReadStream(null, { fd: rehearsalFd })
  const rehearsal = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]()
  while (!asked) {
    const next = await Promise.race([rehearsal.next(), first.then(() => null)])
    if (next === null || next.done) break
    if (next.value.trim() === '') continue
    rehearsed.set(digest(next.value), JSON.stringify(verdict(await runSimulation(JSON.parse(next.value), {}))))
  }
  stream.destroy()
}

for (let item = await first; !item.done; item = await lines.next()) {
  if (item.value.trim() !== '') await answer(item.value)
}
