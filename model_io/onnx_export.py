"""A native export (model_io/exported.py's layout) converted to ONNX by its
framework's own converter: paddle2onnx for paddle.inference's programs,
tf2onnx for SavedModels.

Each converter runs as a command of its own: tf2onnx loads a SavedModel
eagerly, which the v1 graph's process has turned off, and paddle2onnx ends
its process with an abort when it meets an operator it cannot map.
"""
import importlib.metadata
import os
import subprocess
import sys

from errors import UserError

OPSET = 17  # what both converters were checked with on this stack
MODEL = "model.onnx"


def converter_command(native, meta, onnx_file):
    """(converter name, the command that writes `onnx_file` from the export in `native`)."""
    if meta["runtime"] == "paddle.inference":
        program, params = meta["files"]
        return "paddle2onnx", [sys.executable, "-m", "paddle2onnx.command", "--model_dir", native,
                               "--model_filename", program, "--params_filename", params,
                               "--save_file", onnx_file, "--opset_version", str(OPSET)]
    return "tf2onnx", [sys.executable, "-m", "tf2onnx.convert", "--saved-model", native,
                       "--signature_def", "serving_default", "--output", onnx_file,
                       "--opset", str(OPSET)]


def convert(native, meta, out, refusal_advice):
    """Convert the export in folder `native` (what export.json says of it:
    `meta`) into `out`/model.onnx; returns what the ONNX export.json says.
    A converter's failure is one line: its own message and `refusal_advice`."""
    onnx_file = os.path.join(out, MODEL)
    name, command = converter_command(native, meta, onnx_file)
    converter = f"{name} {importlib.metadata.version(name)}"
    # polygraphy, paddle2onnx's optimizer, would pip-install what it lacks.
    env = dict(os.environ, POLYGRAPHY_AUTOINSTALL_DEPS="0", GLOG_minloglevel="2")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0 or not os.path.isfile(onnx_file):
        message = converter_message(result.stdout + result.stderr).rstrip(".")
        raise UserError(f"{converter} cannot convert this model: {message}; {refusal_advice}")
    name_outputs(onnx_file, meta["outputs"])
    return dict(meta, runtime="onnxruntime", files=[MODEL], lod=False, opset=OPSET,
                converter=converter, converted_from=meta["runtime"])


def converter_message(output):
    """The converter's own error line: paddle2onnx's [ERROR] line, else the
    last line that names an error."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for line in lines:
        if "[ERROR][Paddle2ONNX]" in line:
            return line.split("[ERROR][Paddle2ONNX]", 1)[1].strip()
    errors = [line for line in lines if "Error" in line]
    return (errors or lines or ["it printed nothing"])[-1]


def name_outputs(onnx_file, names):
    """Give the model's outputs the export's names, in order: paddle2onnx
    calls them fetch_name_0, fetch_name_1, ..."""
    import onnx
    model = onnx.load(onnx_file)
    if sorted(output.name for output in model.graph.output) == sorted(names):
        return  # tf2onnx keeps the signature's names (in another order)
    renamed = dict(zip((output.name for output in model.graph.output), names))
    for node in model.graph.node:
        node.output[:] = [renamed.get(name, name) for name in node.output]
        node.input[:] = [renamed.get(name, name) for name in node.input]
    for output in model.graph.output:
        output.name = renamed.get(output.name, output.name)
    onnx.save(model, onnx_file)
