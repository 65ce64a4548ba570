"""Dynamic batching against per-node recursion: nodes per second.

Random binary trees (each split point uniform), `--leaves` leaves each,
state size `--units`. For each composer and batch size, the same layer
weights run

- batched: `dynamic_batching=True`, all nodes of one height across the
  batch in one step (steps = tallest tree);
- per node, in graph: the same layer code with `dynamic_batching=False`,
  one internal node per step inside the same compiled `tf.function` and
  `while_loop`, one tree at a time (the strongest per-node peer we have:
  no Python in the loop, and on TensorFlow the same shrinking-buffer loop,
  which is also faster per node than the portable loop);
- per node, eager (`--eager-trees`): a plain Python recursion calling the
  layer's `compose` on one node at a time, as naive code would.

Inputs are TensorFlow constants made before timing. TensorFlow runs on
`--threads` threads (default 1, intra- and inter-op). Both forward and
forward+backward (gradients of the sum of every node's
output with respect to the weights and inputs) are timed: the fastest
(`--statistic min`, default) or median of `--repeats` runs after a
warm-up. The ratio is batched nodes/s over the
in-graph per-node nodes/s; the two, and the products-only runs below,
are timed in turn within every repeat (same load). The
steps column gives the mean number of sequential steps per batch.

Where the time goes. Both compiled runs do the same arithmetic; what
batching changes is the shape of each step's matrix products: one
product over every node of a level (many rows) against one row per
step. The "products only" runs time just the composer's core products
(`core_products`: RNN `[c1; c2] (2u) @ W (2u, u)`; N-ary Tree-LSTM
`[h1; h2] (2u)` times the gate kernel `(2u, 3u)` and the forget kernel
`(2u, 2u)`; forward+backward adds the gradient's products) in the same
kind of compiled `while_loop`, with the same weights and threads:
batched, one step per level of the same batches (the real level sizes);
per node, one row per step for the same trees. GFLOP/s count these core
products only (forward+backward: 3x the forward's). Per row:

- products-only ratio: batched over per-node products-only nodes/s, the
  ratio if both runs cost only their products (matrix-matrix against
  matrix-vector speed). The measured ratio can exceed it when the real
  per-node loop spends more of its time outside the products than the
  batched one.
- bound: batched products-only nodes/s over the real per-node nodes/s,
  the ratio against this peer if the batched run cost only its products;
  "of bound" is the measured ratio over it (equivalently, the batched
  run's GFLOP/s over its products-only GFLOP/s). Not a strict bound:
  the products-only loop has its own per-step cost (`TensorArray` reads
  and writes), which can exceed the real loop's when levels are tiny
  (batch 1).

`--table FILE` prints the table of a saved result file; `--plot-only
FILE ...` redraws the figure (docs/benchmarks/img/tree_batching.png, the
ratios as bars, one colour per file) from saved result files.

Full protocol (the issue's):

    python bench/tree_batching.py --trees 256 --leaves 128 --units 256 \\
        --batch-sizes 1,32,256

Results go to `bench/results/tree_batching.json` (`--out`); the benchmark page
also shows `--threads 2 --out bench/results/tree_batching_2threads.json`.
"""

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _threads import pin_threads  # noqa: E402

from toolkit.data import Tree, Vocabulary, encode_trees  # noqa: E402
from toolkit.layers import (  # noqa: E402
    RecursiveComposer,
    RNTNComposer,
    TreeLSTMComposer,
)

STATISTICS = {"min": min, "median": statistics.median}

COMPOSERS = {
    "rnn": RecursiveComposer,
    "rntn": RNTNComposer,
    "tree_lstm": TreeLSTMComposer,
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=256)
    parser.add_argument("--leaves", type=int, default=128)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--batch-sizes", default="1,32,256")
    parser.add_argument("--composers", default="rnn,tree_lstm")
    parser.add_argument(
        "--per-node-trees",
        type=int,
        default=8,
        help="trees timed one by one for the per-node peer",
    )
    parser.add_argument(
        "--eager-trees",
        type=int,
        default=1,
        help="trees for the eager Python recursion (0: skip)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--statistic",
        choices=("min", "median"),
        default="min",
        help="of the repeats: min (the least disturbed run, for a shared "
        "machine where other load only adds time) or median",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow intra- and inter-op threads (0: TensorFlow's default)",
    )
    parser.add_argument("--out", default="bench/results/tree_batching.json")
    parser.add_argument(
        "--table", help="print the table of this result file and exit"
    )
    parser.add_argument(
        "--plot-only",
        nargs="+",
        metavar="FILE",
        help="redraw the figure from these result files and exit",
    )
    return parser.parse_args(argv)


def random_tree(rng, leaves):
    if leaves == 1:
        return Tree(None, token="w")
    left = int(rng.integers(1, leaves))
    return Tree(None, [random_tree(rng, left), random_tree(rng, leaves - left)])


def make_batch(args):
    rng = np.random.default_rng(args.seed)
    trees = [random_tree(rng, args.leaves) for _ in range(args.trees)]
    batch = encode_trees(trees, Vocabulary(["w"]))
    inputs = rng.normal(size=(*batch["heights"].shape, args.units))
    return trees, batch, inputs.astype("float32")


def timed(function, repeats, statistic=min):
    function()  # warm-up (tracing)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistic(times)


def timed_together(functions, repeats, statistic=min):
    """Seconds of each of `functions` (`statistic` of `repeats` runs each,
    after a warm-up), timed in turn within every repeat so that all see
    the same load on a shared machine."""
    for function in functions:
        function()
    times = [[] for _ in functions]
    for _ in range(repeats):
        for function, out in zip(functions, times):
            start = time.perf_counter()
            function()
            out.append(time.perf_counter() - start)
    return [statistic(t) for t in times]


def graph_functions(layer):
    @tf.function(reduce_retracing=True)
    def forward(inputs, children, heights):
        return layer(inputs, children, heights)[1]

    @tf.function(reduce_retracing=True)
    def backward(inputs, children, heights):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            _, nodes = layer(inputs, children, heights)
            loss = tf.reduce_sum(nodes)
        return tape.gradient(loss, [inputs, *layer.trainable_weights])

    return forward, backward


def core_products(name, layer):
    """The kernels `[(in, out), ...]` that `compose` multiplies every
    node's (concatenated) child states by, as callables (read inside the
    loop, as the layer does)."""
    if name == "rnn":
        return [lambda: layer.kernel]
    if name == "tree_lstm" and layer.variant == "n_ary":
        return [lambda: layer.recurrent_kernel, lambda: layer.forget_kernel]
    if name == "rntn":
        width = 2 * layer.units
        return [
            lambda: layer.kernel,
            lambda: tf.reshape(layer.tensor_kernel, (width, -1)),
        ]
    raise ValueError(f"No core products for composer {name!r}.")


def product_functions(kernels):
    """Compiled loops of only the core products: step `s` multiplies the
    next `sizes[s]` rows of `rows` by every kernel (what one step of the
    composer's loop does, with nothing else)."""
    width = int(kernels[0]().shape[0])

    def loop(rows, sizes):
        steps = tf.shape(sizes)[0]
        inputs = tf.TensorArray(
            rows.dtype,
            size=steps,
            infer_shape=False,
            element_shape=tf.TensorShape([None, width]),
        ).split(rows, sizes)
        outputs = [
            tf.TensorArray(
                rows.dtype,
                size=steps,
                infer_shape=False,
                element_shape=tf.TensorShape([None, None]),
            )
            for _ in kernels
        ]

        def body(step, outputs):
            block = inputs.read(step)
            return step + 1, [
                out.write(step, tf.matmul(block, kernel()))
                for out, kernel in zip(outputs, kernels)
            ]

        _, outputs = tf.while_loop(
            lambda step, outputs: step < steps,
            body,
            (tf.constant(0, tf.int32), outputs),
        )
        return [out.concat() for out in outputs]

    # (no autograph: the loop is an explicit `tf.while_loop`)
    @tf.function(reduce_retracing=True, autograph=False)
    def forward(rows, sizes):
        return loop(rows, sizes)

    @tf.function(reduce_retracing=True, autograph=False)
    def backward(rows, sizes):
        with tf.GradientTape() as tape:
            tape.watch(rows)
            loss = sum(tf.reduce_sum(out) for out in loop(rows, sizes))
        return tape.gradient(loss, [rows, *tape.watched_variables()])

    return forward, backward


def level_sizes(heights):
    """Internal nodes per height (1, 2, ...) of a batch of trees."""
    counts = np.bincount(heights[heights > 0].ravel())[1:]
    return counts[counts > 0].astype("int32")


def eager_recursion(layer, tree, vectors):
    """Naive per-node recursion: one `compose` call per internal node."""
    rows = iter(range(len(vectors)))

    def visit(node):
        if node.is_leaf:
            return layer.leaf_states(vectors[next(rows)][None])
        kids = [visit(c) for c in node.children]
        states = tf.stack([k[0] for k in kids])[None]
        return layer.compose(states, tf.ones((1, len(kids))))

    return visit(tree)


def eager_forward_backward(layer, tree, vectors):
    with tf.GradientTape() as tape:
        root = eager_recursion(layer, tree, vectors)
        loss = tf.reduce_sum(root)
    return tape.gradient(loss, layer.trainable_weights)


def bench_composer(name, args, trees, batch, inputs):
    arrays = {k: tf.constant(batch[k]) for k in ("children", "heights")}
    nodes_per_tree = 2 * args.leaves - 1
    layer = COMPOSERS[name](args.units)
    per_node = COMPOSERS[name](args.units, dynamic_batching=False)
    first = [
        tf.constant(inputs[:1]),
        arrays["children"][:1],
        arrays["heights"][:1],
    ]
    layer(*first)
    per_node(*first)
    per_node.set_weights(layer.get_weights())
    rows = []
    # the per-node peer: one tree at a time, one node per step
    count = min(args.per_node_trees, args.trees)
    peers = dict(
        zip(("forward", "forward+backward"), graph_functions(per_node))
    )
    eager = {}
    if args.eager_trees:
        vectors = [
            tf.constant(inputs[t, :nodes_per_tree])
            for t in range(args.eager_trees)
        ]
        for mode, fn in (
            ("forward", eager_recursion),
            ("forward+backward", eager_forward_backward),
        ):
            seconds = timed(
                lambda fn=fn: [
                    fn(layer, trees[t], vectors[t])
                    for t in range(args.eager_trees)
                ],
                max(1, args.repeats // 2),
                STATISTICS[args.statistic],
            )
            eager[mode] = args.eager_trees * nodes_per_tree / seconds
    batched = graph_functions(layer)
    singles = [
        (
            tf.constant(inputs[t : t + 1]),
            arrays["children"][t : t + 1],
            arrays["heights"][t : t + 1],
        )
        for t in range(count)
    ]
    kernels = core_products(name, layer)
    width = int(kernels[0]().shape[0])
    flops = sum(2 * int(np.prod(k().shape)) for k in kernels)
    ceilings = dict(
        zip(("forward", "forward+backward"), product_functions(kernels))
    )
    rng = np.random.default_rng(args.seed + 1)

    def product_inputs(sizes):
        rows = rng.normal(size=(int(sizes.sum()), width)).astype("float32")
        return tf.constant(rows), tf.constant(sizes)

    single_products = [
        product_inputs(np.ones(args.leaves - 1, "int32")) for _ in range(count)
    ]
    for size in [int(s) for s in args.batch_sizes.split(",")]:
        size = min(size, args.trees)
        slices = [(s, s + size) for s in range(0, args.trees, size)]
        # at small batches, time a subset of the batches to bound the run
        slices = slices[: max(1, 256 // size)] if size < 32 else slices
        parts = [
            (
                tf.constant(inputs[lo:hi]),
                arrays["children"][lo:hi],
                arrays["heights"][lo:hi],
            )
            for lo, hi in slices
        ]
        part_products = [
            product_inputs(level_sizes(batch["heights"][lo:hi]))
            for lo, hi in slices
        ]
        for mode, fn in zip(("forward", "forward+backward"), batched):

            def run_products(fn=ceilings[mode]):
                for part in part_products:
                    fn(*part)

            def run_peer_products(fn=ceilings[mode]):
                for part in single_products:
                    fn(*part)

            def run(fn=fn):
                for part in parts:
                    fn(*part)

            def run_peer(fn=peers[mode]):
                for part in singles:
                    fn(*part)

            seconds, peer_seconds, product_seconds, peer_product_seconds = (
                timed_together(
                    (run, run_peer, run_products, run_peer_products),
                    args.repeats,
                    STATISTICS[args.statistic],
                )
            )
            trees_done = sum(hi - lo for lo, hi in slices)
            rate = trees_done * nodes_per_tree / seconds
            peer = count * nodes_per_tree / peer_seconds
            steps = [int(batch["heights"][lo:hi].max()) for lo, hi in slices]
            # GFLOP/s of the core products (internal nodes only)
            gflop = (3 if mode == "forward+backward" else 1) * flops * 1e-9
            internal = (args.leaves - 1) / nodes_per_tree
            products = trees_done * nodes_per_tree / product_seconds
            peer_products = count * nodes_per_tree / peer_product_seconds
            rows.append(
                {
                    "composer": name,
                    "batch": size,
                    "mode": mode,
                    "batched_nodes_per_s": rate,
                    "per_node_nodes_per_s": peer,
                    "ratio": rate / peer,
                    "batched_gflops": rate * internal * gflop,
                    "per_node_gflops": peer * internal * gflop,
                    "products_only_batched_nodes_per_s": products,
                    "products_only_per_node_nodes_per_s": peer_products,
                    "products_only_batched_gflops": products * internal * gflop,
                    "products_only_per_node_gflops": peer_products
                    * internal
                    * gflop,
                    "products_only_ratio": products / peer_products,
                    "bound": products / peer,
                    "ratio_of_bound": rate / products,
                    "core_product_flops_per_node": flops,
                    "eager_nodes_per_s": eager.get(mode),
                    "ratio_vs_eager": rate / eager[mode] if eager else None,
                    "steps_batched": float(np.mean(steps)),
                    "steps_per_node": size * (args.leaves - 1),
                }
            )
            print(format_row(rows[-1]), flush=True)
    return rows


HEADER = (
    "| composer | batch | mode | batched nodes/s | per-node nodes/s "
    "| ratio | GFLOP/s (batched / per node) | products-only GFLOP/s "
    "(batched / per node) | products-only ratio | bound | of bound "
    "| eager nodes/s | ratio vs eager | steps (batched / per node) |\n"
    "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def format_row(row):
    eager = row["eager_nodes_per_s"]
    return (
        f"| {row['composer']} | {row['batch']} | {row['mode']} | "
        f"{row['batched_nodes_per_s']:,.0f} | "
        f"{row['per_node_nodes_per_s']:,.0f} | {row['ratio']:.1f}x | "
        f"{row['batched_gflops']:.1f} / {row['per_node_gflops']:.1f} | "
        f"{row['products_only_batched_gflops']:.1f} / "
        f"{row['products_only_per_node_gflops']:.1f} | "
        f"{row['products_only_ratio']:.1f}x | {row['bound']:.1f}x | "
        f"{row['ratio_of_bound']:.0%} | "
        + (
            f"{eager:,.0f} | {row['ratio_vs_eager']:.0f}x | "
            if eager
            else "- | - | "
        )
        + f"{row['steps_batched']:.1f} / {row['steps_per_node']} |"
    )


def print_table(path):
    with open(path) as handle:
        saved = json.load(handle)
    print(f"{path}: TensorFlow threads: {saved['args']['threads']}")
    print(HEADER)
    for row in saved["results"]:
        print(format_row(row))


def main(argv=None):
    args = parse_args(argv)
    if args.table:
        return print_table(args.table)
    if args.plot_only:
        return plot(args.plot_only)
    if args.threads:
        pin_threads(args.threads)
    tf.random.set_seed(args.seed)
    trees, batch, inputs = make_batch(args)
    heights = batch["heights"].max(axis=1)
    print(
        f"{args.trees} random binary trees of {args.leaves} leaves, "
        f"state {args.units}; tree heights: min {heights.min()}, "
        f"median {int(np.median(heights))}, max {heights.max()}; "
        f"TensorFlow threads: {args.threads or 'default'}"
    )
    print(HEADER)
    rows = []
    for name in args.composers.split(","):
        rows.extend(bench_composer(name, args, trees, batch, inputs))
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as handle:
        json.dump({"args": vars(args), "results": rows}, handle, indent=2)
    plot([args.out])
    return rows


def plot(paths):
    """Batched over per-node nodes/s as bars, one panel per mode, one
    colour per result file (labelled by its thread count)."""
    from _plots import grouped_bars, load, pyplot, save, threads_label

    saved = [load(path) for path in paths]
    keys = list(
        dict.fromkeys(
            (row["composer"], row["batch"]) for row in saved[0]["results"]
        )
    )
    modes = list(dict.fromkeys(row["mode"] for row in saved[0]["results"]))
    names = {"rnn": "RNN", "tree_lstm": "Tree-LSTM"}
    categories = [f"{names.get(c, c)}\nbatch {b}" for c, b in keys]
    figure, axes = pyplot().subplots(
        1, len(modes), figsize=(5.5 * len(modes), 3.8), sharey=True
    )
    for ax, mode in zip(axes, modes, strict=True):
        series = {}
        for result in saved:
            ratios = {
                (row["composer"], row["batch"]): row["ratio"]
                for row in result["results"]
                if row["mode"] == mode
            }
            label = threads_label(result["args"]["threads"])
            series[label] = [ratios.get(k) for k in keys]
        grouped_bars(ax, categories, series, reference=1.0, fmt="{:.1f}x")
        ax.set_title(mode)
    axes[0].set_ylabel("dynamic batching / per-node loop (nodes/s)")
    args = saved[0]["args"]
    figure.suptitle(
        f"Dynamic batching against the compiled per-node loop: "
        f"{args['trees']} random trees of {args['leaves']} leaves, state "
        f"{args['units']}",
        fontsize=10,
    )
    save(figure, "tree_batching.png")


if __name__ == "__main__":
    main()
