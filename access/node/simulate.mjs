// The access simulation's bridge to @cloud-copilot/iam-simulate (access/simulator.py runs it as a process).
// stdin: a JSON array of simulations in the library's own `Simulation` shape. stdout: one verdict per simulation,
// in order: the overall result, the statements that decided it, the context keys the simulator dropped, or the
// validation errors that kept it from deciding. No policy logic lives here: the library decides.
import { getDenialReasons, runSimulation } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const simulations = JSON.parse(Buffer.concat(chunks).toString('utf8'))

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

const verdicts = []
for (const simulation of simulations) {
  verdicts.push(verdict(await runSimulation(simulation, {})))
}
process.stdout.write(JSON.stringify(verdicts))
