// Parses AsyncAPI documents with the AsyncAPI parser: `node check.js a.json b.json ...`.
// Prints every diagnostic as JSON lines ({file, severity, code, message, path}); exits 1 when any is an error
// (severity 0) or a document could not be parsed at all.
const fs = require("fs");
const { Parser, DiagnosticSeverity } = require("@asyncapi/parser");

async function main(files) {
  const parser = new Parser();
  let failed = files.length === 0;
  for (const file of files) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"));
    for (const d of diagnostics) {
      console.log(JSON.stringify({ file, severity: d.severity, code: d.code, message: d.message, path: d.path.join(".") }));
      if (d.severity === DiagnosticSeverity.Error) failed = true;
    }
    if (document === undefined) failed = true;
  }
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2)).catch((error) => { console.error(error); process.exit(2); });
