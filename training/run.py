"""The start and the end of a training run, the same in every script."""
import collections
import dataclasses

from config import describe
from ptb import corpus
from ptb.batching import check_batch_size, describe_data
from training.checkpoints import CheckpointFolder, run_identity
from training.reports import MetricsLog, report_test

Run = collections.namedtuple("Run", "config data metrics checkpoints")
Run.__doc__ = """config: with the data's vocab_size; data: a ptb.corpus.Corpus;
metrics: the MetricsLog; checkpoints: the CheckpointFolder, not yet claimed."""


def start_run(framework, banner, config):
    """Read the data and check the config against it, then print the
    start-up log: the framework's banner, the config, each split. Return the Run."""
    data = corpus.load_corpus(config.data_dir)
    config = dataclasses.replace(config, vocab_size=len(data.vocab))
    check_batch_size(data.train, config)
    print(f"{banner}, config:\n{describe(config)}\ndata:\n{describe_data(data, config)}")
    checkpoints = CheckpointFolder(config.save_dir, run_identity(framework, config, data.vocab))
    return Run(config, data, MetricsLog(config.metrics_file), checkpoints)


def end_run(metrics, framework, test_stats, epochs, stopped):
    """Report the test result of a model trained for `epochs` whole epochs
    and return it; a run that Ctrl-C or SIGTERM stopped then ends as that
    stop does (non-zero), after the result."""
    result = report_test(metrics, framework, test_stats, epochs, interrupted=stopped is not None)
    if stopped is not None:
        raise stopped
    return result
