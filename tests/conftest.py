"""Fixtures for every test folder; this folder (tests/) is on sys.path, so the helpers beside
this file (tiny_runs.py, state_compare.py) import by name from any of them."""
import pytest


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """The generated demo dataset at its smallest (8 train + 4 test images, 128 px), once per
    session: read it, never write to it (a test that changes files makes its own copy)."""
    from hl_detect.data import ensure_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic")
    return ensure_synthetic_dataset(root, num_classes=20, num_train=8, num_test=4, seed=0, image_size=128)


@pytest.fixture(scope="session")
def tiny_data(tiny_dataset):
    """Its root folder, as --data-root takes it (tools would also generate it on first use)."""
    return tiny_dataset.root


@pytest.fixture(scope="session")
def tiny_data_with_val(tmp_path_factory):
    """The same images plus a 4-image val split (checkout thresholds are chosen on val); runs
    pass --set data.options.num_val=4, so the tools find it as generated."""
    from hl_detect.data import ensure_synthetic_dataset

    root = tmp_path_factory.mktemp("synthetic_val")
    return ensure_synthetic_dataset(root, num_classes=20, num_train=8, num_test=4, num_val=4, seed=0,
                                    image_size=128).root


@pytest.fixture
def unreadable_run(tmp_path):
    """A run folder whose checkpoint.pt torch cannot load: a tool that reaches the model load
    fails there, so its checks of the command line must have come first."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    return run


@pytest.fixture(scope="session")
def deploy_run(tiny_data, tmp_path_factory):
    """A 1-epoch tiny run (2 steps) on the tiny dataset at 64-96 px, for the tools that take a
    trained model out (COCO results, export). Its RPN keeps every proposal at test time
    (2000 >= the 1152 anchors of a 64 x 96 input): cutting at the top 64 of a barely trained
    RPN's near-equal scores would let a 1e-7 difference between runtimes choose other boxes."""
    from tiny_runs import run_tool, tiny_args

    run = tmp_path_factory.mktemp("deploy") / "run"
    sizes = ["data.resize.min_size=64", "data.resize.max_size=96", "model.options.min_size=64",
             "model.options.max_size=96", "model.options.rpn_pre_nms_top_n_test=2000",
             "model.options.rpn_post_nms_top_n_test=2000", "prediction_pictures=0"]
    run_tool("train_det.py", *tiny_args(tiny_data, run, "--epochs", "1", *[a for s in sizes for a in ("--set", s)]))
    return run


@pytest.fixture(scope="session", autouse=True)
def no_child_process_outlives_the_tests():
    """A loader worker (or any child) still alive when the tests end would make the interpreter
    wait for it at exit, and CI would hang after its last test passed (it once did, for 90
    minutes): fail here and say which, and end them so the session can exit."""
    import multiprocessing

    yield
    alive = multiprocessing.active_children()
    for child in alive:
        child.kill()
        child.join(10)
    assert not alive, f"child processes outlived the tests (killed now): {[c.name for c in alive]}"
