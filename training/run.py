"""The start and the end of a training run, the same in every script."""
import collections
import dataclasses

from config import describe
from distributed.shards import evaluation_config, global_batches
from ptb import corpus
from ptb.batching import check_batch_size, describe_data
from training.checkpoints import CheckpointFolder, run_identity
from training.reports import MetricsLog, report_test

Run = collections.namedtuple("Run", "config eval_config data metrics checkpoints")
Run.__doc__ = """config: with the data's vocab_size; eval_config: the config to
evaluate with (distributed.shards.evaluation_config); data: a
ptb.corpus.Corpus; metrics: the MetricsLog; checkpoints: the
CheckpointFolder, not yet claimed."""


def start_run(framework, banner, config, workers):
    """Read the data and check the config against it, then print the
    start-up log (worker 0 only): the framework's banner, the config, each
    split. Return the Run; only worker 0's writes metrics."""
    data = corpus.load_corpus(config.data_dir)
    config = dataclasses.replace(config, vocab_size=len(data.vocab), workers=workers.count)
    check_batch_size(data.train, global_batches(config, workers.count))
    if workers.rank == 0:
        print(f"{banner}, config:\n{describe(config)}\ndata:\n{describe_data(data, config)}")
    checkpoints = CheckpointFolder(config.save_dir, run_identity(framework, config, data.vocab),
                                   dataclasses.asdict(config), data.vocab)
    metrics = MetricsLog(config.metrics_file if workers.rank == 0 else "")
    return Run(config, evaluation_config(config), data, metrics, checkpoints)


def end_run(metrics, framework, test_stats, epochs, stopped, best):
    """Report the test result of a model trained for `epochs` whole epochs,
    and that of the best epoch, and return them; `best` is (epoch, its test
    stats), the stats None when they are test_stats'. A run that Ctrl-C or
    SIGTERM stopped then ends as that stop does (non-zero), after the result.
    A worker other than worker 0 has no test_stats, and reports nothing."""
    if test_stats is None:
        if stopped is not None:
            raise stopped
        return None
    result = report_test(metrics, framework, test_stats, epochs, best,
                         interrupted=stopped is not None)
    if stopped is not None:
        raise stopped
    return result
