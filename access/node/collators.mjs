// One Intl.Collator per (locales, options), not one per comparison.
//
// The simulator compares IAM names case-insensitively with `a.localeCompare(b, undefined, {sensitivity: 'accent'})`
// (condition operators, actions, resource types): V8 builds a new ICU collator for every such call. Profiled on
// prod's 394 simulations (issue 33) that was 1.3 s of the 2.9 s the simulations took, half the simulator's time.
// ECMA-402 defines `localeCompare(that, locales, options)` as `new Intl.Collator(locales, options).compare(this,
// that)` (https://tc39.es/ecma402/#sup-String.prototype.localeCompare), so a collator kept for the same locales and
// options gives the same answers; tests/access/test_simulator.py checks that against the built-in on the strings the
// simulations use. Only this process's strings are affected: the simulator runs alone in its own Node process.
const builtin = String.prototype.localeCompare
const collators = new Map()

function localeCompare(that, locales, options) {
  if (this === null || this === undefined) return builtin.call(this, that, locales, options) // the built-in's TypeError
  const key = `${locales === undefined ? '' : JSON.stringify(locales)}\u0000${options === undefined ? '' : JSON.stringify(options)}`
  let collator = collators.get(key)
  if (collator === undefined) {
    collator = new Intl.Collator(locales, options)
    collators.set(key, collator)
  }
  return collator.compare(String(this), String(that))
}

Object.defineProperty(String.prototype, 'localeCompare', {
  value: localeCompare,
  writable: true,
  configurable: true,
  enumerable: false
})
