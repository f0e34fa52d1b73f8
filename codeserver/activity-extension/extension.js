// Kubeflow activity (built into this image's code-server, see codeserver/README.md): touches
// $KUBEFLOW_ACTIVITY_DIR/code-server (default /tmp/kubeflow-activity) when the user works in
// the editor: text typed into the active editor, the cursor moved with keyboard or mouse, a
// command started in a terminal. An open workbench nobody touches does not touch it (unlike
// code-server's own heartbeat, which beats while any connection is open).
// /usr/local/bin/kubeflow-activity reads the file's modification time.
"use strict";
const fs = require("fs");
const path = require("path");
const vscode = require("vscode");

const stamp = path.join(process.env.KUBEFLOW_ACTIVITY_DIR || "/tmp/kubeflow-activity", "code-server");
let last = 0;

function touch() {
  const now = Date.now();
  if (now - last < 1000) {
    return; // at most once a second
  }
  last = now;
  try {
    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    fs.closeSync(fs.openSync(stamp, "a"));
    fs.utimesSync(stamp, new Date(now), new Date(now));
  } catch (error) {
    console.warn(`kubeflow-activity: cannot touch ${stamp}: ${error.message}`);
  }
}

function activate(context) {
  const { Keyboard, Mouse } = vscode.TextEditorSelectionChangeKind;
  context.subscriptions.push(
    vscode.workspace.onDidChangeTextDocument((event) => {
      const editor = vscode.window.activeTextEditor;
      if (event.contentChanges.length > 0 && editor && editor.document === event.document) {
        touch();
      }
    }),
    vscode.window.onDidChangeTextEditorSelection((event) => {
      if (event.kind === Keyboard || event.kind === Mouse) {
        touch();
      }
    }),
  );
  if (typeof vscode.window.onDidStartTerminalShellExecution === "function") {
    context.subscriptions.push(vscode.window.onDidStartTerminalShellExecution(() => touch()));
  }
}

module.exports = { activate, deactivate() {} };
