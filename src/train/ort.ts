// The one door to onnxruntime-node: its telemetry is switched off (no-telemetry.ts) before the
// runtime loads. Lint forbids importing onnxruntime-node anywhere else.
import './no-telemetry.js'
import ort from 'onnxruntime-node'

export default ort
