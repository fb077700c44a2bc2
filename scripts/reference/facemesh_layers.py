#!/usr/bin/env python3
"""Computes the layer-by-layer reference for StoreHub's native face models, at set-up, into .cache/.

For each model in .cache/models/ this runs a TensorFlow Lite interpreter on one fixed input and saves
every float32 activation tensor (the input, each operator's output) so the Swift tests can check each
operator on its own inputs and the whole graph end to end:

  .cache/facemesh-layers/<model stem>.json   {"model", "input", "outputs", "tensors": [{"index", "name",
                                              "shape", "offset"}]} (offset in bytes into the .bin)
  .cache/facemesh-layers/<model stem>.bin    the tensors as little-endian float32

The interpreter is LiteRT (PyPI ai-edge-litert, pinned in scripts/requirements.txt): the mediapipe wheel
runs TensorFlow Lite inside its C++ graph but gives Python no interpreter to call. The reference kernels
are used (no XNNPACK delegate) so that every intermediate tensor is kept.

It also writes each portrait in .cache/faces/ as binary PPM (.cache/facemesh-layers/faces/<stem>.ppm),
decoded with Pillow as the fixture generator decodes it, for the end-to-end tests.

Idempotent: when every output is newer than the models, the portraits and this script, it does nothing.
Run by scripts/install-deps.
Usage: .venv/bin/python scripts/reference/facemesh_layers.py [--cache DIR] [--force]
"""

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent

# Input value ranges as MediaPipe feeds the models: the detector gets [-1, 1], the mesh [0, 1].
MODELS = {"face_detection_short_range.tflite": (-1.0, 1.0), "face_landmark.tflite": (0.0, 1.0)}
SEED = 20261126


def fixed_input(shape, low, high):
    """A smooth image with noise: gradients, a disc and uniform noise, so every kernel sees varied values."""
    import numpy

    _, height, width, channels = shape
    y, x = numpy.mgrid[0:height, 0:width].astype(numpy.float32)
    base = numpy.stack(
        [x / width, y / height, ((x - width / 2) ** 2 + (y - height / 2) ** 2 < (width / 3) ** 2).astype(numpy.float32)],
        axis=-1,
    )[..., :channels]
    noise = numpy.random.RandomState(SEED).uniform(0.0, 1.0, size=base.shape).astype(numpy.float32)
    image = 0.7 * base + 0.3 * noise
    return (low + (high - low) * image).reshape(shape).astype(numpy.float32)


def dump_model(path: Path, out: Path) -> None:
    import numpy
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    low, high = MODELS[path.name]
    details = interpreter.get_input_details()[0]
    data = fixed_input(details["shape"], low, high)
    interpreter.set_tensor(details["index"], data)
    interpreter.invoke()

    activations = set()
    for op in interpreter._get_ops_details():
        if op["op_name"] not in ("DEQUANTIZE",):
            activations.update(int(i) for i in op["outputs"])
    activations.add(int(details["index"]))
    names = {int(t["index"]): t for t in interpreter.get_tensor_details()}
    entries = []
    offset = 0
    stem = path.stem
    with (out / f"{stem}.bin").open("wb") as blob:
        for index in sorted(activations):
            tensor = interpreter.get_tensor(index)
            if tensor.dtype != numpy.float32:
                continue
            raw = numpy.ascontiguousarray(tensor, dtype="<f4").tobytes()
            blob.write(raw)
            entries.append({"index": index, "name": names[index]["name"], "shape": list(tensor.shape), "offset": offset})
            offset += len(raw)
    index = {
        "model": path.name,
        "interpreter": "ai-edge-litert reference kernels",
        "input": int(details["index"]),
        "outputs": [int(d["index"]) for d in interpreter.get_output_details()],
        "tensors": entries,
    }
    (out / f"{stem}.json").write_text(json.dumps(index) + "\n")
    print(f"facemesh_layers: {stem}: {len(entries)} tensors, {offset // 1024} KiB")


def write_ppm(image_path: Path, target: Path) -> None:
    import numpy
    from PIL import Image

    rgb = numpy.asarray(Image.open(image_path).convert("RGB"))
    height, width = rgb.shape[:2]
    target.write_bytes(f"P6\n{width} {height}\n255\n".encode() + rgb.tobytes())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=REPO / ".cache")
    parser.add_argument("--force", action="store_true", help="recompute even when the outputs are up to date")
    args = parser.parse_args()
    out = args.cache / "facemesh-layers"
    inputs = [args.cache / "models" / name for name in MODELS] + [Path(__file__)] + portraits(args.cache)
    outputs = [out / f"{Path(name).stem}.{kind}" for name in MODELS for kind in ("json", "bin")]
    outputs += [out / "faces" / f"{p.stem}.ppm" for p in portraits(args.cache)]
    if not args.force and all(p.exists() for p in inputs + outputs):
        if min(p.stat().st_mtime for p in outputs) >= max(p.stat().st_mtime for p in inputs):
            return
    try:
        import ai_edge_litert  # noqa: F401
        import numpy  # noqa: F401
    except ImportError as error:
        sys.exit(f"facemesh_layers: {error}; run it with .venv/bin/python (scripts/install-deps installs it)")

    (out / "faces").mkdir(parents=True, exist_ok=True)
    for name in MODELS:
        model = args.cache / "models" / name
        if not model.exists():
            sys.exit(f"facemesh_layers: {model} is missing; run scripts/fetch-assets")
        dump_model(model, out)
    for image in portraits(args.cache):
        write_ppm(image, out / "faces" / f"{image.stem}.ppm")


def portraits(cache: Path) -> list:
    return sorted(p for p in (cache / "faces").glob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


if __name__ == "__main__":
    main()
