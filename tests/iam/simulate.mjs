// Evaluates IAM requests against identity policies offline, in one process: a JSON array of cases on
// stdin, a JSON array of decisions on stdout, in the same order. A test tool only (make test), on
// @cloud-copilot/iam-simulate (AGPL-3.0-or-later, pinned in package-lock.json); never shipped.
//
// A case: {"id", "policies": [{"name", "policy"}], "action", "resource", "context": {key: value},
//          "principal"?: ARN, "mode"?: "strict" | "unsafe"}
//   strict (the default): runSimulation(), which validates the policies, the action and that the
//     resource is of a type the action takes; context keys the action cannot see are reported.
//   unsafe: the same core engine without that validation, for what iam-simulate's action data does
//     not list: IoT Core policies (iot:AssumeRoleWithCertificate, ${iot:Connection.Thing.ThingName}).
// A decision: {"id", "decision": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error",
//              "error"?, "matched": [{"policy", "sid", "effect"}], "ignoredContextKeys": [...]}
import { readFileSync } from 'node:fs'
import { runSimulation } from '@cloud-copilot/iam-simulate'
import { loadPolicy } from '@cloud-copilot/iam-policy'

// The unsafe path, as runUnsafeSimulation() builds it, keeping the analysis (which statements matched).
const base = import.meta.resolve('@cloud-copilot/iam-simulate')
const { authorize } = await import(new URL('./core_engine/CoreSimulatorEngine.js', base))
const { AwsRequestImpl } = await import(new URL('./request/request.js', base))
const { RequestContextImpl } = await import(new URL('./requestContext.js', base))
const { DiscoveryContextKeyConstraints } = await import(new URL('./context_keys/discoveryContextKeyConstraints.js', base))

const ACCOUNT = /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/

function simulation(c) {
  const accountId = ACCOUNT.exec(c.resource)?.[1] ?? ACCOUNT.exec(c.principal ?? '')?.[1] ?? '123456789012'
  return {
    request: {
      principal: c.principal ?? `arn:aws:iam::${accountId}:role/simulated`,
      action: c.action,
      resource: { resource: c.resource, accountId },
      contextVariables: c.context ?? {}
    },
    identityPolicies: c.policies,
    serviceControlPolicies: [],
    resourceControlPolicies: []
  }
}

function matched(analysis) {
  const identity = analysis?.identityAnalysis
  return [...(identity?.denyStatements ?? []), ...(identity?.allowStatements ?? [])].map((s) => ({
    policy: s.policyId,
    sid: s.explain.identifier,
    effect: s.explain.effect
  }))
}

function unsafe(sim) {
  const analysis = authorize({
    request: new AwsRequestImpl(
      sim.request.principal,
      sim.request.resource,
      sim.request.action,
      new RequestContextImpl(sim.request.contextVariables)
    ),
    sessionPolicy: undefined,
    identityPolicies: sim.identityPolicies.map((p) => loadPolicy(p.policy, { name: p.name })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: undefined,
    permissionBoundaries: undefined,
    vpcEndpointPolicies: undefined,
    simulationParameters: { simulationMode: 'Strict', discoveryContextKeyConstraints: new DiscoveryContextKeyConstraints([]) },
    serviceSettings: { s3: { blockPublicAccess: undefined } }
  })
  return { decision: analysis.result, matched: matched(analysis), ignoredContextKeys: [] }
}

async function decide(c) {
  const sim = simulation(c)
  if (c.mode === 'unsafe') return unsafe(sim)
  const result = await runSimulation(sim, {})
  if (result.resultType === 'error') {
    return { decision: 'Error', error: JSON.stringify(result.errors), matched: [], ignoredContextKeys: [] }
  }
  const results = result.resultType === 'single' ? [result.result] : result.results
  return {
    decision: result.overallResult,
    matched: results.flatMap((r) => matched(r.analysis)),
    ignoredContextKeys: [...new Set(results.flatMap((r) => r.ignoredContextKeys ?? []))]
  }
}

const cases = JSON.parse(readFileSync(0, 'utf8'))
const out = []
for (const c of cases) {
  try {
    out.push({ id: c.id, ...(await decide(c)) })
  } catch (e) {
    out.push({ id: c.id, decision: 'Error', error: String(e?.message ?? e), matched: [], ignoredContextKeys: [] })
  }
}
process.stdout.write(JSON.stringify(out) + '\n')
