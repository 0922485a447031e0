"""Entry point of the demo (ZENML_ENTRYPOINT): run the training pipeline on the active ZenML stack."""

from __future__ import annotations

import argparse

from pipeline import training_pipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--no-cache", action="store_true", help="run every step even if ZenML has it cached")
    args = parser.parse_args()
    training_pipeline.with_options(enable_cache=not args.no_cache)(c=args.c)


if __name__ == "__main__":
    main()
