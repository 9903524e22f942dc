"""The side-by-side training-speed command: its configs are the checkout's own, cut and pointed at the data."""

from pathlib import Path

import pytest
import yaml

from pipelines.tools.compare_checkouts import main, write_config

REPO = Path(__file__).resolve().parents[1]


def test_config_is_the_checkouts_own_cut_to_the_iterations(tmp_path):
    path = write_config(REPO, tmp_path / "synthetic", 40, tmp_path / "c.yaml")
    config = yaml.safe_load(path.read_text())
    own = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert config["train"]["main"]["iterations"] == config["train"]["pretrain"]["iterations"] == 40
    assert config["train"]["amp"] is False  # float32 on both sides unless --precision says otherwise
    assert config["data"]["davis"] == str(tmp_path / "synthetic" / "DAVIS")
    assert config["model"] == own["model"] and config["train"]["main"]["crop"] == own["train"]["main"]["crop"]
    assert yaml.safe_load(write_config(REPO, tmp_path, 40, tmp_path / "d.yaml", "amp").read_text())["train"]["amp"]
    default = yaml.safe_load(write_config(REPO, tmp_path, 40, tmp_path / "e.yaml", "config").read_text())
    assert default["train"]["amp"] == own["train"]["amp"] == "auto"  # as the checkout's default runs it


def test_refuses_data_without_davis(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--old", str(REPO), "--data", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "no DAVIS folder" in capsys.readouterr().err
