"""configs/rpc_exemplars.yaml: the recipe trains on the synthesized trays' folder and chooses
thresholds / reports on RPC's own val2019 / test2019, as datasets/README.md says."""
from hl_detect.run.config import dataset_config_path, load_config
from hl_detect.data.splits import split_config


def test_recipe_splits():
    data = load_config([dataset_config_path("rpc_exemplars")])["data"]
    got = {w: (split_config(data, w)["kind"], split_config(data, w)["root"], split_config(data, w)["split"])
           for w in ("train", "val", "test")}
    assert got == {"train": ("rpc", "datasets/rpc_synth_trays", "train"),
                   "val": ("rpc", "datasets/retail_product_checkout", "val"),
                   "test": ("rpc", "datasets/retail_product_checkout", "test")}
    # --data-root moves RPC (val/test), not the synthesized trays
    moved = load_config([dataset_config_path("rpc_exemplars")], ["data.root=/elsewhere/rpc"])["data"]
    assert split_config(moved, "test")["root"] == "/elsewhere/rpc"
    assert split_config(moved, "train")["root"] == "datasets/rpc_synth_trays"
