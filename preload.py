"""Command-line flags FacePop adds to the WebUI (A1111 calls preload(parser) at start)."""


def preload(parser) -> None:
    parser.add_argument(
        "--facepop-models-dir", type=str, default=None,
        help="FacePop: folder with its model files, e.g. MODNet "
             "(default: <WebUI models folder>/facepop)")
    parser.add_argument(
        "--facepop-face-batch", type=int, default=8,
        help="FacePop: at most this many faces in one face pass; more faces take further "
             "passes (bounds GPU memory; default 8, which fits 8 GB cards at 720 px by the "
             "estimate in docs/benchmarks.md). A pass that runs out of memory is retried in "
             "halves.")
