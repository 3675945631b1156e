"""What bench.py measures of the training scripts, one script x batching x
mode x preset in each process: speed, memory, padding, the framework's
matmul rate and the efficiency they give, the time outside the framework's
call, and the operator profile; and the table of them (bench.py's docstring
says what each number is)."""
import collections
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types

import numpy as np

import load_data_tf
from benchmarks import tf_tutorial
from config import PRESETS, Config, cpu_threads, learning_rate_at
from errors import UserError
from ptb import corpus
from ptb.batching import Batches, make_batches
from training.errors import child_error, stop_handled
from training.files import replace_file, writes_told
from training.reports import framework_versions, machine_summary, peak_memory_mb

# The command that measures one run in a process of its own.
BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench.py")
MATMUL_REPEATS = 10  # products per timed call, so call overhead hardly counts

# ------------------------------------------------------- what the model costs


def flops_per_word(config):
    """Multiply-adds x 2 of every matrix product per target word, embedding
    lookup aside: each LSTM layer's input and recurrent products (4 gates of
    hidden_size each) and the softmax layer. Training: forward, plus a
    backward that costs twice the forward (one product for the inputs'
    gradient, one for the weights')."""
    hidden, vocab = config.hidden_size, config.vocab_size
    forward = config.num_layers * 2 * (2 * hidden * 4 * hidden) + 2 * hidden * vocab
    return {"train": 3 * forward, "eval": forward}


def model_shapes(config):
    """(m, k, n, FLOPs per word) of the products the model computes."""
    hidden, rows = config.hidden_size, config.batch_size * config.num_steps
    layer_flops = config.num_layers * 2 * hidden * 4 * hidden
    return [(rows, hidden, 4 * hidden, layer_flops),                    # input projections
            (config.batch_size, hidden, 4 * hidden, layer_flops),        # one recurrent step
            (rows, hidden, config.vocab_size, 2 * hidden * config.vocab_size)]  # softmax


def matmul_rate(matmul_timer, config):
    """FLOP/s of the framework's matmul over the model's mix of shapes: the
    FLOPs of one word divided by the time those products take at the rate
    measured for each shape (the best of 5 timings)."""
    total_flops = total_seconds = 0.0
    for m, k, n, flops in model_shapes(config):
        time_products = matmul_timer(m, k, n)
        rate = MATMUL_REPEATS * 2 * m * k * n / min(time_products() for _ in range(5))
        total_flops += flops
        total_seconds += flops / rate
    return total_flops / total_seconds

# ----------------------------------------------------------- each framework


def fluid_bench(config, data):
    """run(batches, training) -> EpochStats; matmul_timer(m, k, n) -> a
    function timing MATMUL_REPEATS products; operator_seconds(batches) ->
    {operator type: seconds} (None where there is no profile); read() ->
    the training split's batches made and fed as run_epoch is fed them; the
    train and valid batches. The other frameworks' functions return the same."""
    import load_data_fluid
    import rnnlm_fluid as script
    from compat.paddle_fluid import legacy_op, paddle
    trainer = script.build_trainer(config, paddle.CPUPlace())
    script.set_learning_rate(trainer, 0)
    run = script_runner(script, trainer)

    def matmul_timer(m, k, n):
        program, startup = paddle.static.Program(), paddle.static.Program()
        with paddle.static.program_guard(program, startup):
            w = paddle.static.create_parameter([k, n], "float32")
            # paddle.matmul builds only PIR now: append the legacy operator.
            products = [legacy_op("matmul_v2", X=paddle.static.create_parameter(
                [m, k], "float32"), Y=w) for _ in range(MATMUL_REPEATS)]
            total = legacy_op("sum", X=[paddle.mean(p) for p in products])
        trainer.exe.run(startup)
        return seconds(lambda: trainer.exe.run(program, fetch_list=[total]))

    def operator_seconds(batches):
        return paddle_operator_seconds(paddle, lambda: run(batches, True))

    def lod_tensors(batches):  # what run_epoch feeds: each batch's two LoD tensors
        return (load_data_fluid.to_lod_tensors(batch, trainer.place) for batch in batches)

    return (run, matmul_timer, operator_seconds,
            training_reader(lod_tensors, load_data_fluid, config, data),
            split_batches(load_data_fluid, config, data))


Timing = collections.namedtuple("Timing", "words_per_sec outside_seconds outside_share")
Timing.__doc__ = """One timed run: target words/s, and the seconds per batch
spent outside the framework's call and their share of the run's time (None
where the two are not told apart)."""


def timing(words, seconds, inside, batches):
    """The Timing of `batches` batches of `words` target words in `seconds`,
    `inside` of them in the framework's calls."""
    outside = seconds - inside
    return Timing(words / seconds, outside / batches, outside / seconds)


def script_runner(script, trainer):
    """run(batches, training) -> Timing: the script's run_epoch on a list of
    batches, less its input pipeline's start-up (time_pipeline_start)."""
    inside, start_up = time_framework_calls(script), time_pipeline_start(script)

    def run(batches, training):
        before, started = inside.seconds, start_up.seconds
        stats = script.run_epoch(trainer, Batches.listed(batches), "bench", training)
        seconds = stats.seconds - (start_up.seconds - started)
        return timing(stats.targets, seconds, inside.seconds - before, len(batches))
    return run


def time_pipeline_start(script):
    """A clock of the seconds the script's input pipeline (today's scripts:
    tf.data, paddle.io) takes to give an epoch its first batch: building the
    dataset, tracing its generator, starting its thread. A real epoch pays
    it once over hundreds of batches; a timed stretch of --batches batches
    would count it 10-20 times over, so bench leaves it out."""
    clock = types.SimpleNamespace(seconds=0.0)
    pipeline = getattr(script, "input_pipeline", None)
    if pipeline is None:
        return clock

    def timed_pipeline(batches):
        start = time.perf_counter()
        items = iter(pipeline(batches))
        first = next(items, None)
        clock.seconds += time.perf_counter() - start
        if first is not None:
            yield first
            yield from items
    script.input_pipeline = timed_pipeline
    return clock


def time_framework_calls(script):
    """A clock of the seconds spent inside the script's stop holds, which wrap
    its framework call and nothing else (exe.run, session.run, the Keras
    step, Paddle's forward, backward and update): the rest of run_epoch is
    the script's own work per batch, feeding, state, progress and the hold."""
    hold, clock = script.stops_deferred, types.SimpleNamespace(seconds=0.0)

    @contextlib.contextmanager
    def timed_hold():
        with hold():
            start = time.perf_counter()
            try:
                yield
            finally:
                clock.seconds += time.perf_counter() - start
    script.stops_deferred = timed_hold
    return clock


def training_reader(feed, loader, config, data):
    """read() -> the training split's batches, made by `loader` as the
    script makes them and passed through feed(batches) as the script feeds
    them: its input pipeline, Fluid's LoD tensors, or as they are."""
    return lambda: feed(make_batches(loader, data.train, data.vocab, config))


def split_batches(loader, config, data):
    """{split: list of batches} of train and valid, made before any timing."""
    return {split: list(make_batches(loader, sentences, data.vocab, config))
            for split, sentences in (("train", data.train), ("valid", data.valid))}


def paddle_operator_seconds(paddle, train):
    """Seconds per operator type while `train()` runs, from Paddle's profiler."""
    import paddle.profiler
    from paddle.profiler.profiler_statistic import StatisticData
    # The trace files are not needed, only the statistics: a throwaway folder.
    with tempfile.TemporaryDirectory() as traces:
        profiler = paddle.profiler.Profiler(
            targets=[paddle.profiler.ProfilerTarget.CPU],
            on_trace_ready=paddle.profiler.export_chrome_tracing(traces))
        profiler.start()
        train()
        profiler.stop()
    result = profiler.profiler_result
    summary = StatisticData(result.get_data(), result.get_extra_info()).event_summary
    return {name: item.cpu_time / 1e9 for name, item in summary.items.items()}


def paddle_bench(config, data):
    import rnnlm_paddle as script
    from compat.paddle_dygraph import paddle
    script.choose_device(config)
    trainer = script.build_trainer(config)
    script.set_learning_rate(trainer, 0)
    run = script_runner(script, trainer)

    def matmul_timer(m, k, n):
        w = paddle.randn([k, n])
        inputs = [paddle.randn([m, k]) for _ in range(MATMUL_REPEATS)]
        return seconds(lambda: float(paddle.add_n([paddle.matmul(x, w).sum() for x in inputs])))

    def operator_seconds(batches):
        return paddle_operator_seconds(paddle, lambda: run(batches, True))

    return (run, matmul_timer, operator_seconds,
            training_reader(script.input_pipeline, load_data_tf, config, data),
            split_batches(load_data_tf, config, data))


def keras_bench(config, data):
    import rnnlm_keras as script
    from compat.keras3 import tf
    trainer = script.build_trainer(config, script.choose_device(config))
    script.set_learning_rate(trainer, config, 0)

    def matmul_timer(m, k, n):
        w = tf.random.normal([k, n])
        inputs = [tf.random.normal([m, k]) for _ in range(MATMUL_REPEATS)]
        products = tf.function(lambda: tf.add_n([tf.reduce_sum(tf.matmul(x, w)) for x in inputs]))
        return seconds(lambda: float(products()))

    return (script_runner(script, trainer), matmul_timer, None,
            training_reader(script.input_pipeline, load_data_tf, config, data),
            split_batches(load_data_tf, config, data))


def tensorflow_bench(config, data):
    import rnnlm_tensorflow as script
    trainer = script.build_trainer(config, "/CPU:0")
    session = trainer.session
    script.set_learning_rate(trainer, config, 0)

    matmul_timer = v1_matmul_timer(trainer.graph.graph, session)

    def operator_seconds(batches):
        """Seconds per operator type over training on `batches`, from TensorFlow's traces."""
        traced = TracedSession(session)
        script_runner(script, trainer._replace(session=traced))(batches, True)
        return traced.seconds

    # The v1 graph is fed the numpy generator's arrays themselves.
    return (script_runner(script, trainer), matmul_timer, operator_seconds,
            training_reader(iter, load_data_tf, config, data),
            split_batches(load_data_tf, config, data))


def v1_matmul_timer(graph, session):
    """matmul_timer(m, k, n) for a v1 graph and its Session."""
    from compat.tf_v1 import tf

    def matmul_timer(m, k, n):
        with graph.as_default():
            w = tf.get_variable(f"bench_w_{m}_{k}_{n}", [k, n])
            # Distinct inputs, or grappler would compute one product for all.
            inputs = [tf.get_variable(f"bench_x_{m}_{k}_{n}_{i}", [m, k])
                      for i in range(MATMUL_REPEATS)]
            total = tf.add_n([tf.reduce_sum(tf.matmul(x, w)) for x in inputs])
            session.run(tf.variables_initializer([w, *inputs]))
        return seconds(lambda: session.run(total))
    return matmul_timer


def tutorial_bench(config, data, args, checkout):
    """TensorFlow's PTB tutorial (benchmarks/tf_tutorial.py): its training and
    evaluation PTBModels built as its main() builds them, with its own preset
    and the data's vocabulary (its presets say 10,000 words), in a Session
    whose threads are rnnlm_tensorflow.py's; its run_epoch timed."""
    from compat.tf_v1 import tf
    tutorial = tf_tutorial.load(checkout)
    train_ids, valid_ids, _, vocab_size = tutorial.reader.ptb_raw_data(args.data_dir)
    if vocab_size != config.vocab_size:
        raise UserError(f"--reference tf-tutorial: its reader finds {vocab_size} words in "
                        f"{args.data_dir}'s training text, the scripts {config.vocab_size}; the "
                        "two are compared at one vocabulary: give a --data_dir made as "
                        "data/download.sh or data/mini.sh makes it")
    preset = getattr(tutorial, f"{config.model.capitalize()}Config")()
    preset.vocab_size = vocab_size
    graph, models = tf.Graph(), {}
    with graph.as_default():
        initializer = tf.random_uniform_initializer(-preset.init_scale, preset.init_scale)
        for training, scope, ids in ((True, "Train", train_ids), (False, "Valid", valid_ids)):
            with tf.name_scope(scope):
                words = tutorial.PTBInput(config=preset, data=ids, name=f"{scope}Input")
                with tf.variable_scope("Model", reuse=None if training else True,
                                       initializer=initializer):
                    models[training] = tutorial.PTBModel(training, preset, words)
        initialize = tf.global_variables_initializer()
    threads = cpu_threads(config)
    session = tf.Session(graph=graph, config=tf.ConfigProto(intra_op_parallelism_threads=threads,
                                                            inter_op_parallelism_threads=threads))
    session.run(initialize)
    with graph.as_default():
        tf.train.start_queue_runners(session)  # the words' queues, as its Supervisor does
    models[True].assign_lr(session, preset.learning_rate)
    timed = TimedSession(session)

    def run(batches, training):
        """Its run_epoch on the next len(batches) batches of its own queue."""
        models[training].input.epoch_size = len(batches)
        before, start = timed.seconds, time.perf_counter()
        tutorial.run_epoch(timed, models[training],
                           eval_op=models[True].train_op if training else None)
        words = len(batches) * preset.batch_size * preset.num_steps
        return timing(words, time.perf_counter() - start, timed.seconds - before, len(batches))

    return (run, v1_matmul_timer(graph, session), None, None,
            split_batches(load_data_tf, config, data))


def pytorch_bench(config, data, args, python):
    """experiments/pytorch_reference.py's model, its run_epoch timed on the scripts' chunks."""
    import torch

    from experiments import pytorch_reference as reference
    torch.set_num_threads(cpu_threads(config))
    torch.manual_seed(config.seed)
    model = reference.LanguageModel(config, one_bias=False)
    learning_rate = learning_rate_at(config, 0)

    def run(batches, training):
        model.train(training)
        start = time.perf_counter()
        reference.run_epoch(model, batches, config, learning_rate if training else None)
        elapsed = time.perf_counter() - start
        return Timing(sum(targets.size for _, targets in batches) / elapsed, None, None)

    def matmul_timer(m, k, n):
        w = torch.randn(k, n)
        inputs = [torch.randn(m, k) for _ in range(MATMUL_REPEATS)]
        return seconds(lambda: float(sum(torch.matmul(x, w).sum() for x in inputs)))

    return (run, matmul_timer, None, training_reader(iter, load_data_tf, config, data),
            split_batches(load_data_tf, config, data))


class TimedSession:
    """Stands in for a Session, adding up the seconds inside its run()."""

    def __init__(self, session):
        self.session = session
        self.seconds = 0.0

    def run(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return self.session.run(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


class TracedSession:
    """Stands in for a Session in run_epoch, adding up each operator type's time."""

    def __init__(self, session):
        self.session = session
        self.seconds = collections.Counter()

    def run(self, fetches, feed):
        from compat.tf_v1 import tf
        options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
        metadata = tf.RunMetadata()
        result = self.session.run(fetches, feed, options=options, run_metadata=metadata)
        for device in metadata.step_stats.dev_stats:
            for node in device.node_stats:
                # timeline_label: "name = OpType(inputs)"
                kind = node.timeline_label.partition(" = ")[2].partition("(")[0] or node.node_name
                self.seconds[kind] += node.all_end_rel_micros / 1e6
        return result


def seconds(call):
    """A function that times one call of `call`, after one untimed call."""
    call()

    def timed():
        start = time.perf_counter()
        call()
        return time.perf_counter() - start
    return timed

# -------------------------------------------------------------- measurement


def timings(runs, batches, training, args):
    """Warm each run up on the first --warmup batches and on one batch of
    each other shape, then time it on --repeats stretches of --batches
    consecutive batches, the runs taking turns on each stretch, so that the
    machine's drift slows them alike; each stretch starts from zero state
    as an epoch does (and from the split's start again when the split runs
    out). A list of Timings per run.

    Warmed on every shape, a compiled path is timed as it runs once it has
    compiled them all, as in every epoch after the first; what compiling
    costs, and how often, experiments/compilations.py measures."""
    warmup = batches[:args.warmup] + first_of_each_shape(batches[args.warmup:])
    if warmup:  # none for Fluid's LoD batches with --warmup 0: they have no shapes
        for run in runs:
            run(warmup, training)
    starts = range(args.warmup, args.warmup + args.repeats * args.batches, args.batches)
    last_start = max(len(batches) - args.batches, 0)
    stretches = [batches[start % (last_start + 1):][:args.batches] for start in starts]
    return list(zip(*([run(stretch, training) for run in runs] for stretch in stretches)))


def first_of_each_shape(batches):
    """The first batch of each padded shape (rows, steps) among `batches`,
    in their order: chunks end with the stream's shorter chunk and then the
    one-row tail, which continues its state as in an epoch. None of
    Fluid's, whose LoD tensors no compiler specialises to a shape."""
    if batch_shapes(batches) is None:
        return []
    firsts = {}
    for batch in batches:
        firsts.setdefault(batch[0].shape, batch)
    return list(firsts.values())


def median(timings):
    """The median of each figure of a run's Timings."""
    return Timing(*(None if None in figures else statistics.median(figures)
                    for figures in zip(*timings)))


def reading_measures(read):
    """Over the training batches as the script feeds them (read(): its reader
    and input pipeline, or Fluid's LoD tensors): the share of the time steps
    fed that are padding (rows x longest computed, a LoD tensor's words
    alone, against the targets scored), and the target words/s of making and
    reading them with no model, from the first batch on (the pipeline's
    start-up left out), the best of three passes. (None, None) for
    a reference that reads inside its graph."""
    if read is None:
        return None, None
    fed = [batch for batch in read()]  # list() would ask a DataLoader for its len()
    words = sum(map(load_data_tf.batch_targets, fed))

    def one_pass():
        # From the first batch on, as the training timings (time_pipeline_start).
        batches = iter(read())
        next(batches)
        start = time.perf_counter()
        for _ in batches:
            pass
        return time.perf_counter() - start
    padding = 1 - words / sum(np.size(batch[0]) for batch in fed)
    after_first = words - load_data_tf.batch_targets(fed[0])
    return padding, after_first / min(one_pass() for _ in range(3))


def batch_shapes(batches):
    """How many shapes of padded batch (rows, steps) there are among
    `batches`, which a shape-specialising compiler (XLA) compiles once each;
    None for Fluid's, lists of sentences that go in as LoD tensors."""
    if not all(isinstance(batch[0], np.ndarray) for batch in batches):
        return None
    return len({batch[0].shape for batch in batches})


def measure_one(framework, batching, mode, model, args):
    """Everything for one framework x batching x mode x preset, in this process."""
    data = corpus.load_corpus(args.data_dir)
    config = Config(**{**PRESETS[model], "model": model, "batching": batching,
                       "compile": mode == "compiled",
                       "vocab_size": len(data.vocab), "threads": args.threads, "device": "cpu"})
    if framework in REFERENCES:
        parts = REFERENCES[framework](config, data, args, dict(args.reference)[framework])
    else:
        parts = SCRIPTS[framework](config, data)
    run, matmul_timer, operator_seconds, read, batches = parts
    # The tutorial takes turns with rnnlm_tensorflow.py's chunks in its process.
    paired = [SCRIPTS["tensorflow"](config, data)[0]] if framework == "tf-tutorial" else []
    train, *others = timings([run, *paired], batches["train"], True, args)
    evaluate = median(timings([run], batches["valid"], False, args)[0]).words_per_sec
    rate = matmul_rate(matmul_timer, config)
    padding, reading = reading_measures(read)
    shapes = [batch_shapes(batches[split]) for split in ("train", "valid")]
    flops = flops_per_word(config)
    paired_ratios = [statistics.median(mine.words_per_sec / its.words_per_sec
                                       for mine, its in zip(other, train)) for other in others]
    train = median(train)
    result = dict(framework=framework, batching=batching, mode=mode, model=model,
                  vocab_size=config.vocab_size, threads=cpu_threads(config),
                  train_words_per_sec=train.words_per_sec,
                  outside_seconds=train.outside_seconds, outside_share=train.outside_share,
                  eval_words_per_sec=evaluate,
                  padding=padding, pipeline_words_per_sec=reading,
                  shapes=None if None in shapes else sum(shapes),
                  matmul_flops_per_sec=rate,
                  train_flops_per_word=flops["train"],
                  efficiency=train.words_per_sec * flops["train"] / rate,
                  peak_memory_mb=None if paired else peak_memory_mb())
    if paired:
        result["tensorflow_paired"] = paired_ratios[0]
    if args.profile and operator_seconds:
        result["operator_shares"] = shares(operator_seconds(batches["train"][:args.batches]))
    return result


SCRIPTS = {"fluid": fluid_bench, "paddle": paddle_bench, "tensorflow": tensorflow_bench,
           "keras": keras_bench}
# --reference NAME PATH: what PATH is, and the bench that times it.
REFERENCES = {"tf-tutorial": tutorial_bench, "pytorch": pytorch_bench}


def shares(seconds, top=8):
    """The `top` operator types by time, as fractions of all operators' time."""
    total = sum(seconds.values())
    return [(kind, spent / total) for kind, spent in collections.Counter(seconds).most_common(top)]


def measure_all(plan, args):
    """measure_in_subprocess for each (framework, batching, mode, model) of
    `plan` in turn, until Ctrl-C or SIGTERM: the results so far, and the
    stop if one came."""
    results = []
    for planned in plan:
        try:
            results.append(measure_in_subprocess(*planned, args))
        except KeyboardInterrupt as stop:
            stop_handled()
            return results, stop
    return results, None


def measure_in_subprocess(framework, batching, mode, model, args):
    """measure_one in a fresh process, so that memory and threads start clean."""
    paths = dict(args.reference)
    python = paths["pytorch"] if framework == "pytorch" else sys.executable
    command = [python, BENCH, "--one", framework, batching, mode, model,
               "--data_dir", args.data_dir, *(["--threads", str(args.threads)] if args.threads else []),
               "--warmup", str(args.warmup), "--batches", str(args.batches),
               "--repeats", str(args.repeats)] + (["--profile"] if args.profile else [])
    if framework in paths:
        command += ["--reference", framework, paths[framework]]
    print(f"measuring {framework}/{batching} {mode} {model} ...", flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = child_error(result.stderr, "no output")
        return dict(framework=framework, batching=batching, mode=mode, model=model, error=last)
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(results):
    """The results as a Markdown table; with references, each row's training
    words/s as a multiple of each reference's at the same preset."""
    references = [name for name in REFERENCES if any(r["framework"] == name for r in results)]
    speeds = {(r["framework"], r["model"]): r["train_words_per_sec"] for r in results
              if "error" not in r}
    paired = {r["model"]: r["tensorflow_paired"] for r in results if "tensorflow_paired" in r}
    columns = ("framework", "batching", "mode", "model", "threads", "padding", "shapes",
               "train words/s", *(f"x {name}" for name in references), "outside, ms/batch",
               "eval words/s", "reading words/s", "matmul GFLOP/s", "MFLOP/word", "efficiency",
               "peak memory")
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['framework']} | {r['batching']} | {r['mode']} | {r['model']} | "
                         f"failed: {r['error']} |" + " |" * (len(columns) - 5))
            continue
        ratios = [shown(ratio(r, name, speeds, paired), "{:.2f}".format) for name in references]
        cells = [r["framework"], r["batching"], r["mode"], r["model"], r["threads"],
                 shown(r["padding"], "{:.1%}".format), shown(r["shapes"], str),
                 f"{r['train_words_per_sec']:,.0f}",
                 *ratios,
                 shown(r["outside_seconds"],
                       lambda outside, r=r: f"{outside * 1e3:.2f} ({r['outside_share']:.1%})"),
                 f"{r['eval_words_per_sec']:,.0f}",
                 shown(r["pipeline_words_per_sec"], "{:,.0f}".format),
                 f"{r['matmul_flops_per_sec'] / 1e9:.1f}", f"{r['train_flops_per_word'] / 1e6:.1f}",
                 f"{r['efficiency']:.0%}",
                 shown(r["peak_memory_mb"], lambda megabytes: f"{megabytes / 1000:.2f} GB")]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    return "\n".join(lines)


def ratio(r, reference, speeds, paired):
    """Row r's training words/s over the reference's at its preset; for
    rnnlm_tensorflow.py's chunks against the tutorial, the median ratio of
    their alternated timings in the tutorial's process."""
    if (reference, r["framework"], r["batching"], r["mode"]) == ("tf-tutorial", "tensorflow",
                                                                 "chunks", "idiom"):
        return paired.get(r["model"])
    speed = speeds.get((reference, r["model"]))
    return speed and r["train_words_per_sec"] / speed


def shown(value, form):
    """form(value), or a dash for a figure not measured."""
    return "-" if value is None else form(value)


def check_reference(name, path):
    """Fail in one line, before any measurement, if PATH is not what NAME needs."""
    if name == "tf-tutorial":
        tf_tutorial.sources(path)
        return
    try:
        found = subprocess.run([path, "-c", "import numpy, torch"], capture_output=True).returncode == 0
    except OSError:
        found = False
    if not found:
        raise UserError(f"--reference pytorch: {path} is not a Python that imports torch and "
                        "numpy; make one with python -m venv /tmp/torch && /tmp/torch/bin/pip "
                        "install torch==2.15.0 numpy, then give /tmp/torch/bin/python")


def write_results(path, command, **results):
    """Write `results` as JSON to `path` (--out), with the command, the
    machine and the versions they were measured with, whole or not at all; a
    failed write is one line (bench.py checked the path before measuring)."""
    fields = dict(command=command, machine=machine_summary(), versions=framework_versions(),
                  **results)
    with writes_told(f"--out {path}", "free the space, or give another --out"):
        replace_file(path, json.dumps(fields, indent=1))
