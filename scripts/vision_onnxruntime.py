"""onnxruntime on the shipped vision models, fed the input tensors Aisle made.

Shared by the comparison test (scripts/test_vision_onnxruntime.py) and the figures
(scripts/vision-figures.sh). The one change made to a model is the one Aisle's descriptor
makes: the input shape is fixed to the descriptor's (CenterFace declares a [10,3,32,32]
placeholder), and shapes declared for outputs and intermediates are dropped so they are
inferred from it. Initializers listed as graph inputs (CenterFace's exporter did that) are
unlisted so onnxruntime may fold them, as tract does: the graph computes the same thing.
"""
import onnx
import onnxruntime as ort


def session(onnx_path, input_name, shape, threads=1):
    model = onnx.load(onnx_path)
    graph = model.graph
    inits = {i.name for i in graph.initializer}
    keep = [i for i in graph.input if i.name not in inits]
    del graph.input[:]
    graph.input.extend(keep)
    name = input_name or keep[0].name
    (inp,) = [i for i in graph.input if i.name == name]
    dims = inp.type.tensor_type.shape.dim
    del dims[:]
    for d in shape:
        dims.add().dim_value = d
    for o in graph.output:
        o.type.tensor_type.ClearField("shape")
    del graph.value_info[:]
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"]), name
