"""What each `kgantl` sub-command's help page says above and below its options: a description and examples.

Kept apart from the parsers (the command modules of kgantl/cli) so the words can be read and edited in one place.
Every example is a command that works from a checkout with Fashion-MNIST installed (`make setup`).
"""

PAGES = {
    "train": (
        "Train a new GAN on a data set in its own run directory (options.json, samples/, metrics.jsonl, "
        "checkpoints/, model.keras). Running the same command again resumes an unfinished run exactly; a larger "
        "--epochs with --run-dir extends a finished one.",
        ["kgantl train --data fashion_mnist:7 --epochs 20 --steps-per-epoch 100",
         "kgantl train --data fashion_mnist:7 --shots 100 --preset few-shot --run-dir runs/sneakers",
         "kgantl train --data my_images/ --config options.json --dry-run"],
    ),
    "transfer": (
        "Adapt a pretrained source GAN to a few target images. With no recipe flags the recipe follows the number "
        "of images per class (see docs/benchmarks.md, 'What the benchmarks set'): at most 30, fine-tuning with "
        "DiffAugment and the copy check; more, fine-tuning with KID on held-out shots. Image size, channels and "
        "latent size come from the source.",
        ["kgantl transfer --source source-fmnist-0-4 --target fashion_mnist:7 --shots 10 --epochs 40 "
         "--steps-per-epoch 50",
         "kgantl transfer --source source-fmnist-0-4 --target fashion_mnist:7 --shots 100 --strategy vision_d "
         "--epochs 8 --steps-per-epoch 250",
         "kgantl transfer --source source-fmnist-0-4 --target fashion_mnist:7 --shots 100 --strategy auto"],
    ),
    "generate": (
        "Sample images from a trained generator: a grid picture, or the images as an array. The picture is "
        "enlarged (nearest neighbour) until each image is at least 84 px on its shorter side: 28-px Fashion-MNIST "
        "3x, 64-px emoji 2x; --scale sets the factor. Arrays keep the images as generated.",
        ["kgantl generate runs/sneakers --n 64 --out sneakers.png",
         "kgantl generate runs/sneakers --n 16 --scale 1 --out sneakers-actual-size.png",
         "kgantl generate saved_models/source-fmnist-0-4-conditional --labels 0-4 --n 500 --out tops.npz"],
    ),
    "export": (
        "Export a trained generator as a TensorFlow SavedModel (signature 'serve', no kgantl needed to load it), "
        "or the whole GAN as a .keras file to ship as a transfer source.",
        ["kgantl export runs/sneakers --out exported/sneakers",
         "kgantl export runs/sneakers --format keras --out sneakers-source.keras"],
    ),
    "compare": (
        "One picture of several models' samples side by side (same noise for every model), after the shots they "
        "learned from. Each panel is enlarged (nearest neighbour) until its images are at least 84 px on the "
        "shorter side: 28-px Fashion-MNIST 3x, 64-px emoji 2x; --scale sets one factor for every panel.",
        ["kgantl compare runs/scratch runs/sneakers --names scratch transfer --shots-from fashion_mnist:7 "
         "--shots 10 --out comparison.png"],
    ),
    "evaluate": (
        "Score a generator against real images: FID, KID (with its spread), Inception Score, precision and recall, "
        "and the near-copy share of its training images: a run folder's own shots (the data, shots and seed of its "
        "options.json), or --train-data. Writes evaluation_*.json beside the model (or in a new run directory).",
        ["kgantl evaluate runs/sneakers --ref fashion_mnist:7 --split test --n 1000",
         "kgantl evaluate sneakers.keras --ref fashion_mnist:7 --train-data fashion_mnist:7 --shots 10 --shots-seed 0"],
    ),
    "train-classifier": (
        "Train kgantl's small CNN classifier on labelled data and score it on images it did not train on. On "
        "Fashion-MNIST it is the offline 'fmnist' feature extractor and the backbone of vision_d (the shipped ones "
        "are in saved_models/; this writes a new one); on a folder of images, digits or an .npz file its input "
        "shape and classes come from the data.",
        ["kgantl train-classifier --data fashion_mnist:0-4 --out runs/fmnist-0-4-classifier --epochs 5",
         "kgantl train-classifier --data my_images/ --out runs/my-classifier --epochs 20 --dry-run"],
    ),
    "finetune-classifier": (
        "Fine-tune a classifier on a pretrained backbone behind a freeze/unfreeze schedule, score it on the test "
        "split and save it. Named Keras backbones need their ImageNet weights (downloaded once) or --weights none.",
        ["kgantl finetune-classifier --data fashion_mnist:5-9 --shots 10 --backbone saved_models/fmnist-0-4-backbone "
         "--stages 10:0:1e-3,10:2:1e-4",
         "kgantl finetune-classifier --data fashion_mnist:5-9 --backbone resnet50 --weights none --stages 5:all:1e-3",
         "kgantl finetune-classifier --data my_images/ --backbone vgg16 --input-size 64 --dry-run"],
    ),
    "augment": (
        "Does generated data help a few-shot classifier? Per seed: a conditional GAN on the shots (or transferred "
        "with --source), one classifier per share of generated images and one with flips and crops, the share "
        "picked on held-out shots, everything scored on the test split; report.md ends with a verdict.",
        ["kgantl augment --data fashion_mnist:5-9 --shots 10 --backbone saved_models/fmnist-0-4-backbone "
         "--feature-layer flatten --seeds 0,1,2",
         "kgantl augment --config augment.json --dry-run"],
    ),
    "models": (
        "The shipped models kgantl finds by name (source-fmnist-0-4, ...), and where each was found.",
        ["kgantl models list"],
    ),
}


def epilog(command):
    """The examples block shown under a sub-command's options."""
    return "examples:\n" + "\n".join(f"  {line}" for line in PAGES[command][1])
