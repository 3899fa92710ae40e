// Copy the built <model-viewer> bundle (three.js included) and its licences into the Python
// package, so lesson packs work offline and wheel users need no npm. Run after `npm ci`.
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";

const dest = new URL("../viewer/export/vendor/", import.meta.url);
await mkdir(dest, { recursive: true });
const mv = "node_modules/@google/model-viewer/";
await copyFile(mv + "dist/model-viewer-umd.min.js", new URL("model-viewer.min.js", dest));
const version = JSON.parse(await readFile(mv + "package.json")).version;
const three = JSON.parse(await readFile("node_modules/three/package.json")).version;
const notice = [
  `model-viewer ${version} (@google/model-viewer, Apache-2.0), bundling three.js ${three} (MIT).`,
  "", await readFile(mv + "LICENSE", "utf8"), "", "three.js:", "",
  await readFile("node_modules/three/LICENSE", "utf8"),
].join("\n");
await writeFile(new URL("model-viewer.LICENSE.txt", dest), notice);
console.log(`vendored model-viewer ${version} (three ${three})`);
