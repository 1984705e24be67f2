// Parses an AsyncAPI document with @asyncapi/parser (the parser AsyncAPI Studio and the generators use):
// prints every diagnostic on stderr and a JSON summary on stdout; exits 1 when a diagnostic is an error.
// Usage: node validate.mjs <path to asyncapi.yaml>
import { readFileSync } from 'node:fs';
import { DiagnosticSeverity, Parser } from '@asyncapi/parser';

const path = process.argv[2];
if (!path) {
  console.error('usage: node validate.mjs <asyncapi document>');
  process.exit(2);
}
const parser = new Parser();
const { document, diagnostics } = await parser.parse(readFileSync(path, 'utf8'), { source: path });
const severity = Object.fromEntries(Object.entries(DiagnosticSeverity).map(([name, value]) => [value, name]));
for (const d of diagnostics) {
  const where = d.path && d.path.length ? d.path.join('.') : '(document)';
  console.error(`${severity[d.severity] ?? d.severity} ${d.code} at ${where}: ${d.message}`);
}
const errors = diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).length;
const summary = {
  errors,
  warnings: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).length,
  diagnostics: diagnostics.length,
  version: document ? document.version() : null,
  operations: document
    ? document.operations().all().map((op) => ({
        id: op.id(),
        action: op.action(),
        channels: op.channels().all().map((c) => c.address()),
        messages: op.messages().all().map((m) => m.name()),
        tags: op.tags().all().map((t) => t.name()),
      }))
    : [],
  channels: document ? document.channels().all().map((c) => c.address()) : [],
  messages: document ? document.allMessages().all().map((m) => m.name()) : [],
};
console.log(JSON.stringify(summary));
process.exit(errors || !document ? 1 : 0);
