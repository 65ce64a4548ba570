"""`toolkit fine-tune DIR`: fine-tune a pretrained image classifier on a
folder of images, one sub-folder per class, in both phases of
`toolkit.training.fine_tune`."""

import pathlib
import sys

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


def _fail(message):
    """One plain line on stderr and a non-zero exit code, no traceback."""
    print(f"toolkit fine-tune: error: {message}", file=sys.stderr)
    return 2


def _check_folder(folder):
    """None when `folder` holds two or more class sub-folders with images,
    else the message saying what is wrong."""
    path = pathlib.Path(folder)
    if not path.is_dir():
        return f"DIR must be a folder of class sub-folders. Received: {folder}"
    classes = [
        child
        for child in sorted(path.iterdir())
        if child.is_dir()
        and any(f.suffix.lower() in IMAGE_SUFFIXES for f in child.iterdir())
    ]
    if len(classes) < 2:
        return (
            "DIR must hold at least 2 sub-folders of images (one per class). "
            f"Received: {folder} with {len(classes)}"
        )
    return None


def _weights(value):
    """`--weights`: "imagenet", "none" or a file path."""
    return None if value.lower() == "none" else value


def _plot_curves(frame, path):
    """Loss and accuracy per epoch of both phases, phase 2 shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in ("loss", "accuracy") if m in frame]
    figure, axes = plt.subplots(
        1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False
    )
    epochs = range(1, len(frame) + 1)
    phase2 = [e for e, p in zip(epochs, frame["phase"]) if int(p) == 2]
    for ax, metric in zip(axes[0], metrics):
        ax.plot(epochs, frame[metric], marker="o", label="training")
        if f"val_{metric}" in frame:
            ax.plot(
                epochs, frame[f"val_{metric}"], marker="o", label="validation"
            )
        if phase2:
            ax.axvspan(
                phase2[0] - 0.5, phase2[-1] + 0.5, color="grey", alpha=0.15
            )
        ax.set_xlabel("epoch (shaded: phase 2)")
        ax.set_ylabel(metric)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def _fine_tune_command(args):
    """Read the folder, build the classifier, run both phases, save."""
    problem = _check_folder(args.dir)
    if problem is None and not 0.0 <= args.validation_split < 1.0:
        problem = (
            "--validation-split must be in [0, 1). "
            f"Received: {args.validation_split}"
        )
    if problem is not None:
        return _fail(problem)
    import keras

    from recipes import build_image_classifier
    from toolkit.training import fine_tune

    size = (args.image_size, args.image_size)
    options = dict(
        image_size=size,
        batch_size=args.batch_size,
        seed=args.seed,
        label_mode="int",
        verbose=True,
    )
    if args.validation_split > 0:
        train, validation = keras.utils.image_dataset_from_directory(
            args.dir,
            validation_split=args.validation_split,
            subset="both",
            **options,
        )
    else:
        train = keras.utils.image_dataset_from_directory(args.dir, **options)
        validation = None
    classes = train.class_names
    try:
        model = build_image_classifier(
            len(classes),
            input_shape=size + (3,),
            backbone=args.backbone,
            weights=_weights(args.weights),
            dropout=args.dropout,
        )
    except (OSError, ValueError, TypeError) as error:
        return _fail(str(error).splitlines()[0])
    print(
        f"{len(classes)} classes ({', '.join(classes)}); {args.backbone} "
        f"at {args.image_size}x{args.image_size}, weights {args.weights}; "
        f"phase 1: {args.phase1_epochs} epochs at {args.phase1_lr:g}, "
        f"phase 2 from {args.unfreeze!r}: {args.phase2_epochs} epochs at "
        f"{args.phase2_lr:g}",
        flush=True,
    )
    frame = fine_tune(
        model,
        train,
        validation,
        epochs=(args.phase1_epochs, args.phase2_epochs),
        learning_rate=(args.phase1_lr, args.phase2_lr),
        unfreeze=_unfreeze(args.unfreeze),
        verbose=1,
    )
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    written = [output / "model.keras", output / "history.csv"]
    model.save(written[0])
    frame.to_csv(written[1], index=False)
    written.append(output / "curves.png")
    _plot_curves(frame, written[2])
    for path in written:
        print(f"wrote {path}")
    return 0


def _unfreeze(value):
    """`--unfreeze`: a layer-name prefix, or a number of blocks."""
    return int(value) if value.isdigit() else value


def _add_fine_tune(subparsers):
    parser = subparsers.add_parser(
        "fine-tune",
        help="fine-tune a pretrained image classifier on a folder with one "
        "sub-folder of images per class (both phases of "
        "toolkit.training.fine_tune)",
    )
    parser.add_argument(
        "dir", help="the image folder, one sub-folder per class"
    )
    parser.add_argument(
        "--output",
        default="fine_tune_output",
        help="folder for model.keras, history.csv and curves.png "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--backbone",
        default="resnet50",
        help="keras.applications backbone by name (default: %(default)s)",
    )
    parser.add_argument(
        "--weights",
        default="imagenet",
        help="'imagenet', 'none' or the path of a no-top weights file "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=224,
        help="images are resized to this many pixels square "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=0.2,
        help="fraction of the images held out to validate, 0 for none "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the shuffle and the validation split "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="images per batch (default: %(default)s)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.0,
        help="dropout rate before the new head (default: %(default)s)",
    )
    parser.add_argument(
        "--phase1-epochs",
        type=int,
        default=5,
        help="epochs of the head on the frozen backbone (default: %(default)s)",
    )
    parser.add_argument(
        "--phase2-epochs",
        type=int,
        default=5,
        help="epochs with the top of the backbone unfrozen "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--phase1-lr",
        type=float,
        default=1e-3,
        help="phase 1 learning rate (default: %(default)s)",
    )
    parser.add_argument(
        "--phase2-lr",
        type=float,
        default=1e-4,
        help="phase 2 learning rate (default: %(default)s)",
    )
    parser.add_argument(
        "--unfreeze",
        default="conv5_",
        help="unfreeze the backbone from the first layer with this name "
        "prefix, or this many blocks from the top if a number "
        "(default: %(default)s)",
    )
    parser.set_defaults(handler=_fine_tune_command)
