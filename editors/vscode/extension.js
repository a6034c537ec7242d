// Starts `fupin lsp` for policy files (.policy, .fupintest).
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("fupin").get("server.path") || "fupin";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "fupin",
    "fupin language server",
    { run: server, debug: server },
    { documentSelector: [{ scheme: "file", language: "fupin" }] }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
