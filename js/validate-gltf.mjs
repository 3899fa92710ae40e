// Validate GLB files with the Khronos glTF validator (npm gltf-validator); prints one JSON
// line per file: {"file", "errors", "warnings", "messages": [...first errors/warnings]}.
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

for (const file of process.argv.slice(2)) {
  const report = await validator.validateBytes(new Uint8Array(await readFile(file)), {
    uri: file, maxIssues: 50, writeTimestamp: false,
  });
  const issues = report.issues;
  console.log(JSON.stringify({
    file, errors: issues.numErrors, warnings: issues.numWarnings,
    messages: issues.messages.filter((m) => m.severity <= 1).slice(0, 10)
      .map((m) => `${m.code} ${m.pointer ?? ""}: ${m.message}`),
  }));
}
