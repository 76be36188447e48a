import numpy as np

from kgantl.classifier.fmnist import EMBEDDING_LAYER, build_fmnist_classifier, train_fmnist_classifier


def test_architecture_has_a_linear_embedding():
    model = build_fmnist_classifier(num_classes=5, embedding_dim=16)
    assert model.output_shape == (None, 5)
    embedding = model.get_layer(EMBEDDING_LAYER)
    assert embedding.units == 16 and embedding.get_config()["activation"] == "linear"


def test_training_script_writes_model_and_metrics(tmp_path, fake_fmnist):
    import json

    import keras

    metrics = train_fmnist_classifier(tmp_path / "clf", epochs=1, batch_size=64, data="fashion_mnist:0-4", verbose=0)
    assert metrics["data"] == "fashion_mnist:0-4" and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert json.loads((tmp_path / "clf" / "metrics.json").read_text()) == metrics
    model = keras.saving.load_model(tmp_path / "clf" / "model.keras")
    assert model.output_shape == (None, 5)
    assert np.allclose(model(np.zeros((1, 28, 28, 1), "float32")).numpy().sum(), 1.0, atol=1e-5)
    assert not model.compiled and getattr(model, "optimizer", None) is None  # weights only, as shipped models are
    assert metrics["embedding_rms"] > 0


def test_the_default_network_is_the_fashion_mnist_one():
    model = build_fmnist_classifier()
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)


def test_training_on_a_colour_folder_takes_its_shape_and_classes_and_scores_held_out_images(tmp_path, capsys):
    import json

    import keras
    from PIL import Image

    from kgantl.cli import main

    rng = np.random.default_rng(0)
    for name in ("cats", "dogs", "owls"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(
                tmp_path / "photos" / name / f"{i}.png")
    argv = ["train-classifier", "--data", str(tmp_path / "photos"), "--epochs", "1", "--batch-size", "8",
            "--out", str(tmp_path / "clf")]
    assert main([*argv, "--dry-run"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["input_shape"] == [40, 40, 3] and planned["classes"] == 3 and not (tmp_path / "clf").exists()
    metrics = train_fmnist_classifier(tmp_path / "clf", epochs=1, batch_size=8, data=str(tmp_path / "photos"),
                                      verbose=0)
    assert metrics["input_shape"] == [40, 40, 3] and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["test_set"]["images"] == 3 and metrics["test_set"]["train_images"] == 12  # a fifth held out
    assert "never trained on" in metrics["test_set"]["rule"]
    model = keras.saving.load_model(tmp_path / "clf" / "model.keras")
    assert model.input_shape == (None, 40, 40, 3) and model.output_shape == (None, 3)
