import importlib

import pytest

import config


def test_each_preset_sets_only_what_differs_from_the_base_and_every_one_applies():
    """Presets override the base rather than repeat it, and no flag's
    default overrides a preset: what --model NAME resolves to is its preset."""
    base = config.Config()
    for name, preset in config.PRESETS.items():
        assert all(getattr(base, key) != value for key, value in preset.items()), name
        for framework in config.FRAMEWORKS:
            resolved = config.parse_config(["--model", name], framework)
            assert {key: getattr(resolved, key) for key in preset} == preset, (name, framework)


def test_the_help_shows_the_config_defaults(capsys):
    with pytest.raises(SystemExit):
        config.parse_config(["--help"], "tensorflow")
    text = " ".join(capsys.readouterr().out.split())
    assert "--max_sentence_length MAX_SENTENCE_LENGTH batching by sentences" in text
    assert f"(default: {config.Config.max_sentence_length})" in text
    assert "--epochs N epochs in all" in text and "MAX_MAX_EPOCH" not in text
    assert "(default: chunks)" in text  # the script's own batching


@pytest.mark.parametrize("framework", config.FRAMEWORKS)
def test_compile_has_each_scripts_default_said_once_and_turns_either_way(framework, capsys):
    assert config.parse_config([], framework).compile is config.DEFAULT_COMPILE[framework]
    assert config.parse_config(["--compile"], framework).compile is True
    assert config.parse_config(["--no-compile"], framework).compile is False
    with pytest.raises(SystemExit):
        config.parse_config(["--help"], framework)
    entry = " ".join(capsys.readouterr().out.split("--compile, --no-compile")[1].split("--device")[0]
                     .split())
    assert entry.endswith(f"(default: {config.DEFAULT_COMPILE[framework]})")
    assert entry.count("default") == 1, entry


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
                                   ["--data_dir", "/no/such/dir"], ["--device", "tpu"],
                                   # Fluid reads 0 as no seed and keeps 32 bits; Paddle and
                                   # NumPy take no negative one.
                                   ["--seed", "0"], ["--seed", "-1"], ["--seed", "2147483648"]])
def test_bad_values_are_refused_in_one_line(flags, capsys):
    with pytest.raises(SystemExit) as stop:
        config.parse_config(flags, "fluid")
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")


def option_entries(help_text):
    """--help's option entries, each its flags and help joined on one line."""
    entries = []
    for line in help_text.splitlines():
        if line.startswith("  -"):
            entries.append(line)
        elif entries and line.startswith("      "):
            entries[-1] += " " + line.strip()
    return [" ".join(entry.split()) for entry in entries]


@pytest.mark.parametrize("command", ["compare", "bench", "export", "generate", "score", "convert",
                                     "launch_tf"])
def test_every_command_help_says_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        importlib.import_module(command).parse_args(["--help"])
    entries = option_entries(capsys.readouterr().out)
    assert entries[0].startswith("-h, --help") and len(entries) >= 2
    assert [entry for entry in entries if entry.count("(default:") > 1] == []
