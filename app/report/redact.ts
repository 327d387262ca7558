// Reports are mailed around: whatever they show is scrubbed of credentials first, by the one secret
// redactor (src/secrets/redact.ts), which also cuts them from execution logs before they are stored.
export { REDACTED, redactDeep, redactText, secretValues } from '../../src/secrets/redact';
