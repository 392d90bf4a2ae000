// ONNX Runtime 1.29 and later report to Microsoft from Linux and macOS by default: events about
// every process, session, model and execution provider, queued in ~/.cache/Microsoft/DeveloperTools
// with a persistent device id, uploaded to mobile.events.data.microsoft.com, and an empty
// /tmp/mat-debug-<pid>.log left by every process. A Tapestry node sends nothing but what its
// protocols say, so the runtime's telemetry is off unless the operator sets the variable
// themselves. ONNX Runtime reads it once, when it first starts, so this module must be evaluated
// before onnxruntime-node is loaded: import the runtime through ./ort.ts, never directly.
process.env.ORT_DISABLE_TELEMETRY ??= '1'
