package dynamo

// MaxQuotaRetries exposes the create's retry bound to the external tests,
// so a test can hold the loop to exactly that many attempts.
const MaxQuotaRetries = maxQuotaRetries
