"""Config files, _base_ inheritance and command-line overrides."""
import pytest

from hl_detect.run.config import apply_override, dataset_config_path, load_config, read_config_file


def test_dataset_configs_resolve_with_paper_settings():
    for name in ("voc0712", "rpc"):
        cfg = read_config_file(dataset_config_path(name))
        hl = cfg["loss_options"]["hl"]
        assert (hl["radius"], hl["beta"], hl["epsilon"], hl["phi"]) == (40.0, 0.1, 0.05, 0.99)  # the paper's
        assert (hl["weight"], hl["power"]) == (0.003, 4)  # the authors' code: protocol 2's choice
        assert cfg["lr"] == 1e-4 and cfg["lr_gamma"] == 0.6 and cfg["lr_step_epochs"] == 10
        assert cfg["epochs"] == 100 and cfg["warmup_epochs"] == 5
        assert cfg["data"]["resize"]["image_size"] == 600 and cfg["loss"] == "hl"
    assert read_config_file(dataset_config_path("voc0712"))["data"]["train"]["split"] == "voc0712"
    demo = read_config_file(dataset_config_path("demo"))
    assert demo["data"]["kind"] == "synthetic" and demo["model"]["weights_backbone"] is None


def test_overrides_parse_yaml_values_and_reject_typos(tmp_path):
    cfg = load_config([dataset_config_path("demo")], ["lr=2e-4", "model.head=c4", "loss_options.hl.weight=0", "data.options.num_classes=113"])
    assert cfg["lr"] == 2e-4 and cfg["model"]["head"] == "c4"
    assert cfg["loss_options"]["hl"]["weight"] == 0 and cfg["data"]["options"]["num_classes"] == 113
    apply_override(cfg, "loss_options.cosface.margin=0.2")
    assert cfg["loss_options"]["cosface"] == {"scale": 64.0, "margin": 0.2}
    apply_override(cfg, "loss_options.my_loss.alpha=3")  # free-form under *options
    assert cfg["loss_options"]["my_loss"] == {"alpha": 3}
    with pytest.raises(KeyError, match="unknown key 'lrr'"):
        apply_override(cfg, "lrr=1")
    with pytest.raises(KeyError, match="model.hed"):
        apply_override(cfg, "model.hed=c4")
    with pytest.raises(ValueError, match="key=value"):
        apply_override(cfg, "lr")


def test_base_chain_and_bad_files(tmp_path):
    (tmp_path / "a.yaml").write_text("x: 1\nnested: {p: 1, q: 2}\n")
    (tmp_path / "b.yaml").write_text("_base_: a.yaml\nnested: {q: 3}\n")
    assert read_config_file(tmp_path / "b.yaml") == {"x": 1, "nested": {"p": 1, "q": 3}}
    (tmp_path / "bad.yaml").write_text("x: [1,\n")
    with pytest.raises(ValueError, match="bad.yaml: not valid YAML"):
        read_config_file(tmp_path / "bad.yaml")
    with pytest.raises(FileNotFoundError, match="no config for dataset 'nope'"):
        dataset_config_path("nope")
