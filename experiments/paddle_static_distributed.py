"""Paddle's static-graph data parallelism (fleet) on this CPU build: where each mode stops.

    python experiments/paddle_static_distributed.py

Starts a one-layer static-graph program on 2 local processes under
python -m paddle.distributed.launch, once in fleet's collective mode and
once in its parameter-server mode, and prints the line each worker's log
ends on. With paddlepaddle 3.3.1's CPU wheel, collective mode stops at
"comm_id must be generated in paddlepaddle-xpu" and parameter-server mode
at "cannot import name 'CommContext'": why rnnlm_fluid.py trains on one
worker only (docs/more-than-one-worker.md).
"""
import os
import re
import subprocess
import sys
import tempfile

PROGRAM = """
import os
import re
os.environ["FLAGS_enable_pir_api"] = "0"  # the legacy graph, as rnnlm_fluid.py runs it
import paddle
import paddle.distributed.fleet as fleet
paddle.enable_static()
strategy = fleet.DistributedStrategy()
strategy.a_sync = {parameter_server}
fleet.init(is_collective={collective}, strategy=strategy)
x = paddle.static.data("x", [-1, 4], "float32")
loss = paddle.mean(paddle.static.nn.fc(x, 1))
fleet.distributed_optimizer(paddle.optimizer.SGD(0.1), strategy).minimize(loss)
print("built the distributed program")
"""
MODES = {"collective": ["--nproc_per_node", "2"],
         "parameter server": ["--server_num", "1", "--trainer_num", "1"]}


def last_error(log_dir):
    """The first Python exception in the workers' logs (not the C++ one that
    reports a worker's termination)."""
    for name in sorted(os.listdir(log_dir)):
        with open(os.path.join(log_dir, name), errors="replace") as log:
            for line in log:
                if re.match(r"\w+Error: ", line) and not line.startswith("FatalError"):
                    return line.strip()
    return "no error: the program was built"


def main():
    for mode, launch_flags in MODES.items():
        with tempfile.TemporaryDirectory() as folder:
            program = os.path.join(folder, "program.py")
            with open(program, "w") as out:
                out.write(PROGRAM.format(parameter_server=mode != "collective",
                                         collective=mode == "collective"))
            subprocess.run([sys.executable, "-m", "paddle.distributed.launch", *launch_flags,
                            "--log_dir", os.path.join(folder, "logs"), program],
                           capture_output=True, timeout=300, cwd=folder)  # it writes http.log there
            print(f"{mode}: {last_error(os.path.join(folder, 'logs'))}")


if __name__ == "__main__":
    main()
