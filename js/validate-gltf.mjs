// Validate a glTF/GLB with the Khronos glTF validator; prints its report as JSON.
// Usage: node validate-gltf.mjs FILE.glb
import { readFile } from "node:fs/promises";
import validator from "gltf-validator";

const path = process.argv[2];
const bytes = new Uint8Array(await readFile(path));
const report = await validator.validateBytes(bytes, { uri: path, maxIssues: 100 });
console.log(JSON.stringify(report));
