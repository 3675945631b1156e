import pytest

import config


def test_presets_are_the_tutorials():
    small = config.parse_config([], "fluid")
    assert (small.num_layers, small.hidden_size, small.num_steps, small.batch_size) == (2, 200, 20, 20)
    assert (small.max_epoch, small.max_max_epoch, small.keep_prob) == (4, 13, 1.0)
    medium = config.parse_config(["--model", "medium"], "fluid")
    assert (medium.hidden_size, medium.num_steps, medium.keep_prob, medium.lr_decay) == (650, 35, 0.5, 0.8)
    assert (medium.max_epoch, medium.max_max_epoch, medium.init_scale) == (6, 39, 0.05)
    large = config.parse_config(["--model", "large"], "tensorflow")
    assert (large.hidden_size, large.keep_prob, large.max_grad_norm) == (1500, 0.35, 10.0)
    assert (large.max_epoch, large.max_max_epoch) == (14, 55)
    assert large.lr_decay == pytest.approx(1 / 1.15)


def test_flags_override_the_preset():
    chosen = config.parse_config(["--model", "medium", "--epochs", "3", "--batch_size", "7",
                                  "--learning_rate", "0.5", "--seed", "9"], "tensorflow")
    assert (chosen.max_max_epoch, chosen.batch_size, chosen.learning_rate, chosen.seed) == (3, 7, 0.5, 9)
    assert chosen.hidden_size == 650
    assert chosen.save_dir.endswith("tensorflow-medium")


def test_learning_rate_schedule():
    small = config.parse_config([], "fluid")
    rates = [config.learning_rate_at(small, epoch) for epoch in range(7)]
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.25, 0.125]


@pytest.mark.parametrize("flags", [["--batch_size", "0"], ["--hidden_size", "-3"],
                                   ["--num_layers", "0"], ["--keep_prob", "1.5"],
                                   ["--learning_rate", "x"], ["--model", "huge"],
                                   ["--data_dir", "/no/such/dir"], ["--device", "tpu"]])
def test_bad_values_are_refused_in_one_line(flags, capsys):
    with pytest.raises(SystemExit) as stop:
        config.parse_config(flags, "fluid")
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
