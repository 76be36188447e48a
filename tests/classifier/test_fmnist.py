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
