package api

// StatusOf is statusOf, for the external test that holds the code, the
// document and docs/api.md to one list of problem codes.
var StatusOf = statusOf

// ReadinessMaxAge is readinessMaxAge, for tests that step a clock past it.
const ReadinessMaxAge = readinessMaxAge
