"""`kgantl train-classifier` and `kgantl finetune-classifier`: kgantl's small CNN classifier (on Fashion-MNIST the
`fmnist` extractor and the shipped backbone), and a classifier fine-tuned on a pretrained backbone.
"""
import json

from kgantl.cli.common import UsageError, _command, _progress


def _add_classifier_commands(commands):
    """`train-classifier` and `finetune-classifier`."""
    classifier = _command(commands, "train-classifier", "train kgantl's small CNN classifier on labelled data (on "
                                                        "Fashion-MNIST: the fmnist extractor, backbones)")
    classifier.add_argument("--data", default="fashion_mnist", metavar="SPEC", help="labelled data spec: "
                            "fashion_mnist or a class subset (fashion_mnist:0-4), digits, a folder of class "
                            "sub-folders or an .npz file; the network's input shape and classes come from it "
                            "(default: fashion_mnist)")
    classifier.add_argument("--test-data", metavar="SPEC", help="data spec to score on, all of it (default: none: "
                                                                "the test split of --data, or for a folder or file "
                                                                "the last fifth of each class, never trained on)")
    classifier.add_argument("--out", default="runs/fmnist-classifier", help="output folder; the shipped models in "
                            "saved_models/ are only replaced when you name one (default: runs/fmnist-classifier)")
    classifier.add_argument("--epochs", type=int, default=10, help="epochs over the training split (default: 10)")
    classifier.add_argument("--batch-size", type=int, default=128, help="batch size (default: 128)")
    classifier.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling (default: 0)")
    classifier.add_argument("--dry-run", action="store_true", help="check the data and its test set, print the "
                                                                   "resolved arguments, the input shape and the "
                                                                   "test set, and exit")
    tune = _command(commands, "finetune-classifier", "fine-tune a classifier on a pretrained backbone with a "
                                                     "freeze/unfreeze schedule")
    tune.add_argument("--data", required=True, metavar="SPEC", help="labelled data spec, e.g. fashion_mnist:5-9")
    tune.add_argument("--shots", type=int, default=None, help="images per class (n-shot rule; default: all)")
    tune.add_argument("--seed", type=int, default=0, help="seed of the n-shot rule, weights and shuffling "
                                                          "(default: 0)")
    tune.add_argument("--backbone", required=True, help="vgg16, resnet50, mobilenet_v2, efficientnet_b0 or a "
                                                         ".keras model, e.g. saved_models/fmnist-0-4-backbone/model.keras")
    tune.add_argument("--weights", default="imagenet", help="imagenet, none or a weights file (named backbones; "
                                                            "default: imagenet)")
    tune.add_argument("--input-size", type=int, default=None, metavar="N",
                      help="side of the square images a named backbone is fed; the data is resized inside the model "
                           "(default: the data's image side, at least the family's minimum, 32; a .keras backbone "
                           "takes its own input size)")
    tune.add_argument("--stages", default="10:0:1e-3,10:2:1e-4",
                      help="EPOCHS:TRAINABLE:LR per stage, TRAINABLE counted from the top or 'all' "
                           "(default: 10:0:1e-3,10:2:1e-4)")
    tune.add_argument("--unit", default="blocks", choices=("blocks", "layers"), help="what TRAINABLE counts "
                                                                                     "(default: blocks)")
    tune.add_argument("--test-data", metavar="SPEC", help="data spec to score on, all of it (default: none: the test "
                                                          "split of --data, or for a folder or file the images not "
                                                          "trained on, by the rule the report states)")
    tune.add_argument("--batch-size", type=int, default=16, help="batch size (default: 16)")
    tune.add_argument("--runs-root", default="runs", help="parent of the numbered run directories (default: runs)")
    tune.add_argument("--dry-run", action="store_true", help="print the resolved arguments and exit")


def _train_classifier(args):
    if args.epochs < 1 or args.batch_size < 1:
        raise UsageError(f"--epochs and --batch-size must be positive. Received: {args.epochs}, {args.batch_size}")
    from kgantl.classifier.finetune import test_set_record
    from kgantl.classifier.fmnist import classifier_data, train_fmnist_classifier

    if args.dry_run:  # the data and its test set checked; nothing written
        train, test, rule, classes = classifier_data(args.data, args.seed, args.test_data)
        print(json.dumps({**{k: v for k, v in vars(args).items() if k not in ("dry_run", "command")},
                          "input_shape": list(train.images.shape[1:]), "classes": classes,
                          "test_set": test_set_record(rule, train, test)}, indent=2))
        return
    metrics = train_fmnist_classifier(args.out, args.epochs, args.batch_size, args.seed, args.data,
                                      verbose=_progress(), test_data=args.test_data)
    print(json.dumps(metrics, indent=2))


def _finetune_classifier(args):
    from kgantl.classifier import parse_stages

    stages = parse_stages(args.stages)
    arguments = {k: v for k, v in vars(args).items() if k not in ("dry_run", "command")}
    from kgantl.classifier.finetune import finetune_classifier, prepare_finetune, test_set_record

    if args.dry_run:  # every check before training: data, test set, shapes, backbone and weights; nothing written
        train, test, rule, _, fed = prepare_finetune(args.data, args.backbone, args.shots, args.seed,
                                                     None if args.weights == "none" else args.weights, args.test_data,
                                                     args.input_size)
        print(json.dumps({**arguments, "test_set": test_set_record(rule, train, test),
                          "input_shape": list(train.images.shape[1:]), "backbone_input": fed}, indent=2))
        return

    report, _ = finetune_classifier(args.data, args.backbone, stages, shots=args.shots, seed=args.seed,
                                    test_data=args.test_data, input_size=args.input_size,
                                    weights=None if args.weights == "none" else args.weights, unit=args.unit,
                                    batch_size=args.batch_size, runs_root=args.runs_root, arguments=arguments,
                                    verbose=_progress())
    print(json.dumps(report, indent=2))
