// Starts `ix lsp` for .ix sweeps and (optionally) InferenceX master-config and runners YAML.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("ix");
  const command = config.get("path", "ix");
  const documentSelector = [{ scheme: "file", language: "ix" }];
  if (config.get("yaml", true)) {
    documentSelector.push(
      { scheme: "file", language: "yaml", pattern: "**/*-master.yaml" },
      { scheme: "file", language: "yaml", pattern: "**/runners.yaml" }
    );
  }
  client = new LanguageClient(
    "ix",
    "ix",
    { command, args: ["lsp"] },
    { documentSelector, synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{benchmarks,runners}/**") } }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
